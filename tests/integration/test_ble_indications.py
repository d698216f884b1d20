"""Indications as ATT has them, between the wearable emulator and the hub's loopback radio.

A blood-pressure cuff, a thermometer or a scale indicates its measurements: one
at a time, the next only after the hub's confirmation, and it keeps a
measurement nobody confirmed (ATT's 30 s transaction timeout drops the link).
BlueZ confirms for the hub on a real Pi; the loopback radio does what BlueZ does,
so the daemon, the demo and these tests see a cuff's stored readings arrive as
they would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import pytest

from drivers.ble.loopback import LoopbackRadio
from drivers.ble.profiles.health_codecs import BLOOD_PRESSURE_MEASUREMENT
from simulators.wearable import VirtualWearable, WearableEmulator

pytestmark = pytest.mark.integration
CUFF = "C0:FF:EE:00:03:01"


@pytest.fixture
def emulator(tmp_path):
    emu = WearableEmulator(tmp_path / "ble.sock", [VirtualWearable(CUFF, name="cuff")]).start()
    yield emu
    emu.stop()


async def _take(path: str, want: int) -> list[bytes]:
    radio = LoopbackRadio(path)
    got: list[bytes] = []
    enough = asyncio.Event()

    def take(data: bytes) -> None:
        got.append(data)
        if len(got) >= want:
            enough.set()

    await radio.start_scan(lambda advert: None)
    link = await radio.connect(CUFF, lambda: None, 5.0)
    await link.start_notify(BLOOD_PRESSURE_MEASUREMENT, take)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(enough.wait(), 5)
    await asyncio.sleep(0.2)  # nothing more than what was kept may arrive
    await radio.stop_scan()
    return got


def test_kept_measurements_arrive_one_by_one_in_order_each_confirmed(emulator):
    for i in range(3):  # measured while the hub was away
        emulator.indicate(CUFF, BLOOD_PRESSURE_MEASUREMENT, bytes([0x00, i]))
    got = asyncio.run(_take(emulator.path, 3))
    assert got == [bytes([0x00, 0]), bytes([0x00, 1]), bytes([0x00, 2])]
    assert emulator.confirmed[CUFF] == 3


def test_a_measurement_nobody_confirmed_is_kept_and_sent_again(emulator):
    emulator.att_timeout_s = 0.5
    emulator.indicate(CUFF, BLOOD_PRESSURE_MEASUREMENT, b"\x00\x07")
    # A central that subscribes and never confirms (a stack that lost the indication).
    rude = socket.socket(socket.AF_UNIX)
    rude.connect(str(emulator.path))
    rude.settimeout(5)
    for op in ({"op": "connect", "address": CUFF},
               {"op": "notify", "address": CUFF, "uuid": BLOOD_PRESSURE_MEASUREMENT}):
        rude.sendall(json.dumps(op).encode() + b"\n")
    seen: list[str] = []
    buf = b""
    deadline = time.monotonic() + 5
    while "disconnected" not in seen and time.monotonic() < deadline:
        buf += rude.recv(4096)
        *lines, buf = buf.split(b"\n")
        seen += [json.loads(line)["ev"] for line in lines if line]
    rude.close()
    assert seen.count("indication") == 1 and "disconnected" in seen  # dropped at the ATT timeout
    assert emulator.confirmed.get(CUFF, 0) == 0
    assert asyncio.run(_take(emulator.path, 1)) == [b"\x00\x07"]  # the cuff kept it
    assert emulator.confirmed[CUFF] == 1
