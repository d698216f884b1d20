"""drivers/serial_link.py on a real pseudo-terminal: read, write, a session that forces a reopen, an unplug."""

from __future__ import annotations

import asyncio
import os
import tty
from collections import Counter
from pathlib import Path

import pytest
import structlog

from drivers.serial_link import SerialLink

pytestmark = pytest.mark.integration


class _Pty:
    """A serial device behind a by-id style symlink that can vanish and come back."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.slave = -1

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        os.symlink(os.ttyname(self.slave), self.link)

    def unplug(self) -> None:
        self.link.unlink()
        os.close(self.master)
        os.close(self.slave)


async def _until(check, within_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_reads_writes_reopens_after_a_session_closes_and_survives_an_unplug(tmp_path):
    dev = _Pty(tmp_path / "serial-by-id-modem")
    received = bytearray()
    sessions: Counter[str] = Counter()

    async def session(transport: asyncio.Transport) -> None:
        sessions["started"] += 1
        transport.write(b"AT\r\n")
        if sessions["started"] == 1:
            await asyncio.sleep(0.1)
            transport.close()  # the family decides the device is hung: reopen
            return
        await asyncio.Event().wait()

    link = SerialLink(str(dev.link), 115200, received.extend, log=structlog.get_logger("test"), name="modem",
                      session=session, reopen_min_s=0.05, reopen_max_s=0.2)
    assert link.write(b"x") is False  # nothing is open yet
    dev.plug()
    task = asyncio.create_task(link.run())
    try:
        await _until(lambda: sessions["started"] >= 2 and link.connected)
        assert link.counters["opened"] == 2 and link.counters["lost"] == 1
        os.write(dev.master, b"OK\r\n")
        await _until(lambda: bytes(received) == b"OK\r\n")
        assert link.write(b"ATI\r\n")
        seen = b""
        while b"ATI" not in seen:
            seen += await asyncio.to_thread(os.read, dev.master, 64)
        dev.unplug()
        await _until(lambda: link.counters["open_failed"] >= 2 and not link.connected)
        assert link.write(b"x") is False
        dev.plug()
        await _until(lambda: link.counters["opened"] >= 3 and link.connected)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        dev.unplug()


async def test_a_session_that_will_not_end_does_not_keep_the_port_closed(tmp_path, monkeypatch):
    """A session that lost its cancellation (3.11's wait_for can) is given up on, logged, and the port reopened."""
    import drivers.serial_link as serial_link

    monkeypatch.setattr(serial_link, "SESSION_STOP_S", 0.2)
    dev = _Pty(tmp_path / "serial-by-id-rflink")
    release = asyncio.Event()
    started: Counter[str] = Counter()

    async def stubborn(transport: asyncio.Transport) -> None:
        started["n"] += 1
        if started["n"] > 1:
            await asyncio.Event().wait()
        while not release.is_set():
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                transport.close()
                continue  # swallowed: what wait_for in 3.11 does when the awaited thing completes at once

    link = SerialLink(str(dev.link), 57600, lambda data: None, log=structlog.get_logger("test"), name="rflink",
                      session=stubborn, reopen_min_s=0.05, reopen_max_s=0.2)
    dev.plug()
    task = asyncio.create_task(link.run())
    try:
        await _until(lambda: link.connected and started["n"] == 1)
        dev.unplug()
        dev.plug()
        await _until(lambda: link.counters["session_stuck"] == 1 and started["n"] >= 2 and link.connected)
    finally:
        release.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        dev.unplug()
