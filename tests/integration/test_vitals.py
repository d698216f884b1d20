"""A vital-sign alert through the real daemon: emulated SIG cuff and watch -> loopback radio -> platform."""

from __future__ import annotations

import calendar
import struct
import time

import pytest

from drivers.ble.profiles.health_codecs import BLOOD_PRESSURE_MEASUREMENT
from drivers.ble.profiles.ieee11073 import encode_date_time
from drivers.ble.profiles.sig import HEART_RATE_MEASUREMENT
from simulators.wearable import VirtualWearable, WearableEmulator
from tests.conftest import hub_config

pytestmark = pytest.mark.integration
CUFF, WATCH = "C0:FF:EE:00:02:01", "C0:FF:EE:00:02:02"


@pytest.fixture
def emulator(tmp_path):
    emu = WearableEmulator(tmp_path / "ble.sock", [VirtualWearable(CUFF, name="cuff"),
                                                   VirtualWearable(WATCH, name="watch")]).start()
    yield emu
    emu.stop()


def test_a_blood_pressure_crisis_reaches_the_platform_and_a_watch_off_for_a_moment_does_not(
        tmp_path, mosquitto, platform, emulator, daemon_factory):
    cfg = hub_config(tmp_path, mosquitto.port, None, ble={"enabled": True, "emulator_socket": emulator.path},
                     wearables=[{"id": "cuff", "address": CUFF, "profile": "blood_pressure"},
                                {"id": "watch", "address": WATCH, "profile": "heart_rate"}])
    hub = daemon_factory(cfg).start()
    hub.wait_event("ble.connected", timeout=15, nth=2)
    # The watch is taken off: contact supported, not detected. Not news yet (4 waking hours).
    emulator.notify(WATCH, HEART_RATE_MEASUREMENT, bytes([0x04, 0]))
    # The cuff measured a minute ago (its own time stamp), 192/104 mmHg, pulse 88, and indicates it now.
    taken = calendar.timegm(time.localtime()) - 60.0  # the cuff's clock is local time
    measurement = bytes([0x06]) + struct.pack("<HHH", 192, 104, 133) + encode_date_time(taken) + struct.pack("<H", 88)
    emulator.notify(CUFF, BLOOD_PRESSURE_MEASUREMENT, measurement)
    assert platform.wait_for(lambda p: bool(p.alerts_of("blood_pressure_high", "open")), timeout=15), hub.tail()
    alert = platform.alerts_of("blood_pressure_high", "open")[0]
    assert alert["severity"] == "urgent" and alert["device"] == "cuff"
    assert alert["evidence"]["systolic_mmhg"] == 192 and alert["evidence"]["pulse_rate_bpm"] == 88
    time.sleep(2.0)
    assert platform.alerts_of("not_worn") == [] and platform.alerts_of("device_offline") == []
