"""The modem driver against the emulator on a real pseudo-terminal: SMS out and in, and a hostile modem.

Short status intervals and timeouts keep each test to a few seconds; the dialogue is the
same as with the defaults.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import structlog

from drivers.modem import IncomingSms, Modem, ModemError, ModemStatus
from simulators.modem import ModemEmulator

pytestmark = pytest.mark.integration

ZH = "紧急求助：王秀英在卧室按下了求助按钮，请立即联系她。回复“收到 1a2b”确认。" * 3


async def until(check: Callable[[], object], within_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@dataclass
class Rig:
    emu: ModemEmulator
    modem: Modem
    received: list[IncomingSms] = field(default_factory=list)
    statuses: list[ModemStatus] = field(default_factory=list)


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[Rig]:
    emu = ModemEmulator(tmp_path / "serial-by-id-modem").start()
    received: list[IncomingSms] = []
    statuses: list[ModemStatus] = []
    modem = Modem(str(emu.link), on_sms=received.append, on_status=statuses.append, status_interval_s=0.5,
                  command_timeout_s=0.5, send_timeout_s=1.0, reopen_min_s=0.05, reopen_max_s=0.2,
                  garbage_log_interval_s=30.0)
    task = asyncio.create_task(modem.run())
    try:
        await until(lambda: modem.status.connected and modem.status.registration == "home")
        yield Rig(emu, modem, received, statuses)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        emu.stop()


async def test_english_and_long_chinese_sms_arrive_intact(rig):
    assert rig.modem.status.signal_dbm == -73 and rig.modem.status.operator == "CHINA MOBILE"
    assert rig.modem.status.sim == "ready"
    english = "carehub: HELP CALL at 12 Elm St (bedroom), 08:31. Reply OK 1a2b to acknowledge."
    refs = await rig.modem.send_sms("+44 7700 900123", english)
    assert len(refs) == 1
    refs = await rig.modem.send_sms("+8613800000000", ZH)
    assert len(refs) == 2 and refs[0] != refs[1]
    assert [(s.number, s.text, s.parts) for s in rig.emu.sent] == [
        ("+447700900123", english, 1), ("+8613800000000", ZH, 2)]
    assert rig.modem.counters["sent_parts"] == 3 and rig.modem.counters["sent"] == 2
    assert rig.emu.commands[:6] == ["AT", "ATE0", "AT+CMEE=1", "AT+CMGF=0", 'AT+CSCS="IRA"',
                                    "AT+CNMI=2,1,0,0,0"]


async def test_incoming_sms_is_read_on_cmti_and_deleted_after_the_callback(rig):
    rig.emu.deliver("+8613900000001", "OK 1a2b")
    rig.emu.deliver("+8613900000002", "收到 1a2b。" + "我二十分钟后到。" * 12)  # two UCS-2 parts
    await until(lambda: len(rig.received) == 2)
    assert rig.received[0].sender == "+8613900000001" and rig.received[0].text == "OK 1a2b"
    assert rig.received[0].sent_at is not None and rig.received[0].sent_at.utcoffset() is not None
    assert rig.received[1].text.startswith("收到 1a2b。") and rig.received[1].complete
    await until(lambda: rig.emu.storage == {})
    assert rig.modem.counters["received"] == 2 and rig.modem.counters["received_parts"] == 3


async def test_registration_lost_and_regained_is_in_status(rig):
    rig.emu.lose_registration()
    await until(lambda: rig.modem.status.registration == "searching")
    with pytest.raises(ModemError) as e:
        await rig.modem.send_sms("+8613800000000", "test")
    assert e.value.reason == "not_registered"
    rig.emu.set_registration(5)
    await until(lambda: rig.modem.status.registration == "roaming")
    rig.emu.regain_registration()
    await until(lambda: rig.modem.status.registration == "home")
    assert {s.registration for s in rig.statuses} >= {"home", "searching", "roaming"}
    await rig.modem.send_sms("+8613800000000", "test")


async def test_cms_error_is_a_modem_error_and_the_next_send_works(rig):
    rig.emu.refuse(1, 500)
    with pytest.raises(ModemError) as e:
        await rig.modem.send_sms("+8613800000000", "first")
    assert e.value.reason == "cms_error:500" and e.value.sent_parts == []
    assert rig.modem.counters["cms_errors"] == 1
    rig.emu.refuse(1, 331, after=1)
    with pytest.raises(ModemError) as e:  # the second part of a long one is refused
        await rig.modem.send_sms("+8613800000000", ZH)
    assert e.value.reason == "cms_error:331" and len(e.value.sent_parts) == 1
    await rig.modem.send_sms("+8613800000000", "second")
    assert [s.text for s in rig.emu.sent] == ["second"]


async def test_a_modem_that_hangs_mid_send_times_out_and_recovers(rig):
    rig.emu.hang("AT+CMGS")
    with pytest.raises(ModemError) as e:
        await rig.modem.send_sms("+8613800000000", "help")
    assert e.value.reason == "timeout"
    assert rig.modem.counters["timeouts"] >= 1
    await until(lambda: not rig.modem.status.connected)
    rig.emu.unhang()
    await until(lambda: rig.modem.status.connected, within_s=10)
    await rig.modem.send_sms("+8613800000000", "help again")
    assert [s.text for s in rig.emu.sent] == ["help again"]
    await until(lambda: rig.modem.counters["setups"] >= 2)  # echo off, PDU mode... said again


async def test_a_modem_hung_for_good_is_reopened(rig):
    rig.emu.hang()
    await until(lambda: rig.modem.counters["silent_reopens"] >= 1, within_s=15)
    rig.emu.unhang()
    await until(lambda: rig.modem.status.connected, within_s=10)
    assert rig.modem.counters["reopens"] >= 1


async def test_the_port_vanishing_and_returning_is_reopened(rig):
    rig.emu.vanish()
    await until(lambda: not rig.modem.status.connected)
    with pytest.raises(ModemError) as e:
        await rig.modem.send_sms("+8613800000000", "help")
    assert e.value.reason == "closed"
    rig.emu.reappear()
    await until(lambda: rig.modem.status.connected and rig.modem.status.registration == "home")
    assert rig.modem.counters["reopens"] == 1
    await rig.modem.send_sms("+8613800000000", "help")
    rig.emu.deliver("+8613900000001", "OK 1a2b")  # and it listens again
    await until(lambda: len(rig.received) == 1)


async def test_garbage_is_counted_and_logged_once_per_interval(rig):
    with structlog.testing.capture_logs() as logs:
        for seed in range(5):
            rig.emu.garbage(100, seed=seed)
        await until(lambda: rig.modem.counters["garbage_lines"] >= 450)
        await rig.modem.send_sms("+8613800000000", "still sending")  # noise never stops the hub
    assert len([e for e in logs if e["event"] == "modem.garbage"]) == 1
    assert rig.emu.sent[-1].text == "still sending"


async def test_a_restarted_modem_is_set_up_again(rig):
    setups = rig.modem.counters["setups"]
    rig.emu.restart()
    await until(lambda: rig.modem.counters["setups"] > setups and rig.emu.cnmi and not rig.emu.echo)
    rig.emu.deliver("+8613900000001", "OK 1a2b")
    await until(lambda: len(rig.received) == 1)


async def test_no_sim_is_in_status_and_refuses_sends_at_once(rig):
    rig.emu.remove_sim()
    await until(lambda: rig.modem.status.sim == "absent")
    with pytest.raises(ModemError) as e:
        await rig.modem.send_sms("+8613800000000", "help")
    assert e.value.reason == "no_sim"
    rig.emu.insert_sim()
    await until(lambda: rig.modem.status.sim == "ready" and rig.modem.status.registration == "home")
    await rig.modem.send_sms("+8613800000000", "help")


async def test_sms_stored_before_the_hub_started_and_a_failing_callback(tmp_path):
    emu = ModemEmulator(tmp_path / "modem").start()
    emu.deliver("+8613900000001", "OK 1a2b")  # arrived while the hub was off: no one heard +CMTI
    calls: list[IncomingSms] = []

    def flaky(sms: IncomingSms) -> None:
        calls.append(sms)
        if len(calls) == 1:
            raise RuntimeError("the store was busy")

    modem = Modem(str(emu.link), on_sms=flaky, status_interval_s=0.3, command_timeout_s=0.5)
    task = asyncio.create_task(modem.run())
    try:
        await until(lambda: len(calls) == 2)  # kept after the failure, offered again by the next sweep
        assert calls[0] == calls[1]
        await until(lambda: emu.storage == {})
        assert modem.counters["callback_failed"] == 1 and modem.counters["received"] == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        emu.stop()


async def test_a_modem_that_answers_late_is_still_understood(rig):
    rig.emu.delay(0.2)
    await rig.modem.send_sms("+8613800000000", "slow but sure")
    await asyncio.sleep(0.6)  # a status poll through the delay
    assert rig.modem.status.connected and rig.emu.sent[-1].text == "slow but sure"


async def test_carehub_sim_modem_prints_what_it_is_sent_and_delivers_what_is_typed(tmp_path):
    link = tmp_path / "modem"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "sim", "modem", "--link", str(link),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdin is not None and proc.stdout is not None
    received: list[IncomingSms] = []
    modem = Modem(str(link), on_sms=received.append, status_interval_s=0.5, command_timeout_s=1.0,
                  reopen_min_s=0.05, reopen_max_s=0.2)
    task = asyncio.create_task(modem.run())
    try:
        assert b"plugged in" in await asyncio.wait_for(proc.stdout.readline(), 10)
        await until(lambda: modem.status.connected and modem.status.registration == "home", within_s=10)
        await modem.send_sms("+8613800000000", ZH)
        line = await asyncio.wait_for(proc.stdout.readline(), 5)
        assert line.decode("utf-8").strip() == f"sms to +8613800000000: {ZH} (2 parts)"
        proc.stdin.write("from +8613900000001: 收到 1a2b\n".encode())
        await proc.stdin.drain()
        await until(lambda: received, within_s=5)
        assert (received[0].sender, received[0].text) == ("+8613900000001", "收到 1a2b")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def test_a_modem_left_at_the_prompt_by_a_dead_hub_is_set_up_at_once(tmp_path):
    emu = ModemEmulator(tmp_path / "modem").start()
    fd = os.open(emu.link, os.O_RDWR | os.O_NOCTTY)
    os.write(fd, b"ATE0\rAT+CMGS=20\r")  # the last hub died here, before the PDU
    await until(lambda: emu.commands[-1:] == ["AT+CMGS=20"])
    os.close(fd)
    modem = Modem(str(emu.link), on_sms=lambda sms: None, status_interval_s=5.0, command_timeout_s=3.0)
    task = asyncio.create_task(modem.run())
    try:
        await until(lambda: modem.status.connected, within_s=2.5)  # sooner than one command timeout
        assert modem.counters["timeouts"] == 0
        await modem.send_sms("+8613800000000", "hello")
        assert [s.text for s in emu.sent] == ["hello"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        emu.stop()


async def test_a_modem_that_refuses_its_set_up_is_still_watched_and_set_up_once_it_can(tmp_path):
    emu = ModemEmulator(tmp_path / "modem")
    emu.sim = "absent"  # every SMS command: +CMS ERROR: 310
    emu.start()
    received: list[IncomingSms] = []
    modem = Modem(str(emu.link), on_sms=received.append, status_interval_s=30.0, command_timeout_s=0.5)
    task = asyncio.create_task(modem.run())
    try:
        await until(lambda: modem.status.connected and modem.status.sim == "absent")
        with pytest.raises(ModemError) as e:
            await modem.send_sms("+8613800000000", "help")
        assert e.value.reason == "no_sim"
        emu.insert_sim()  # "+CPIN: READY": set up now, not at the next retry
        await until(lambda: modem.status.sim == "ready" and emu.cnmi, within_s=3)
        emu.deliver("+8613900000001", "OK 1a2b")
        await until(lambda: received)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        emu.stop()
