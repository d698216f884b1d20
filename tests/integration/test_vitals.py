"""A vital-sign alert through the real daemon: emulated SIG cuff and watch -> loopback radio -> platform."""

from __future__ import annotations

import calendar
import json
import sqlite3
import struct
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
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
    emulator.indicate(CUFF, BLOOD_PRESSURE_MEASUREMENT, measurement)
    assert platform.wait_for(lambda p: bool(p.alerts_of("blood_pressure_high", "open")), timeout=15), hub.tail()
    alert = platform.alerts_of("blood_pressure_high", "open")[0]
    assert alert["severity"] == "urgent" and alert["device"] == "cuff"
    assert alert["evidence"]["systolic_mmhg"] == 192 and alert["evidence"]["pulse_rate_bpm"] == 88
    time.sleep(2.0)
    assert platform.alerts_of("not_worn") == [] and platform.alerts_of("device_offline") == []


def _summaries(port: int) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """Every daily summary the platform would receive, from a subscriber of its own."""
    got: list[dict[str, Any]] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="summary-reader")
    client.on_connect = lambda c, *_: c.subscribe("carehub/v1/+/vitals/summary", qos=1)
    client.on_message = lambda _c, _u, msg: got.append(json.loads(msg.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    return got, lambda: (client.loop_stop(), client.disconnect())


def test_a_measurement_the_cuff_kept_from_yesterday_is_in_yesterdays_summary_sent_after_a_restart(
        tmp_path, mosquitto, platform, emulator, daemon_factory):
    """The daily summary end to end: the cuff's own time stamp decides the day; a hub that was off sends the day."""
    cfg = hub_config(tmp_path, mosquitto.port, None, ble={"enabled": True, "emulator_socket": emulator.path},
                     wearables=[{"id": "cuff", "address": CUFF, "profile": "blood_pressure"}])
    env = {"CAREHUB_TEST_HOOKS": "1", "CAREHUB_TEST_CLOCK_SYNCED": "1"}
    got, close = _summaries(mosquitto.port)
    today = calendar.timegm(time.localtime()) // 86400  # the cuff's clock is local time, like the hub's days
    taken = today * 86400.0 - 15 * 3600.0  # yesterday, 09:00 local: the cuff kept it, the hub was away
    emulator.indicate(CUFF, BLOOD_PRESSURE_MEASUREMENT, bytes([0x06]) + struct.pack("<HHH", 128, 82, 97)
                      + encode_date_time(taken) + struct.pack("<H", 66))
    try:
        hub = daemon_factory(cfg, env).start()
        hub.wait_event("ble.connected", timeout=15)
        deadline = time.monotonic() + 10
        while not emulator.confirmed.get(CUFF) and time.monotonic() < deadline:
            time.sleep(0.1)  # sent on subscription, confirmed once the hub took it
        assert emulator.confirmed.get(CUFF) == 1, hub.tail()
        time.sleep(0.5)
        hub.stop()  # saves what the detectors learned, yesterday's reading with it
        # The hub was off at midnight: its last summary sent was the day before yesterday's.
        db = sqlite3.connect(tmp_path / "state" / "carehub.db")
        with db:
            db.execute("UPDATE kv SET value = ? WHERE key = 'vitals_summary.last_day'", (str(today - 2),))
        db.close()
        hub.start()
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            time.sleep(0.2)
        assert got, hub.tail()
        time.sleep(1.0)
        assert len(got) == 1, got  # once per day: today is not over
        summary = got[0]
        assert summary["date"] == time.strftime("%Y-%m-%d", time.gmtime((today - 1) * 86400))
        assert summary["site"] == "test-site" and summary["type"] == "vitals_summary"
        assert summary["measurements"]["systolic"] == 1 and summary["measurements"]["heart_rate"] == 0
        assert summary["systolic"] == {"min": 128.0, "median": 128.0, "max": 128.0}
        assert summary["diastolic"]["median"] == 82.0
        hub.stop()
        hub.start()
        time.sleep(3.0)
        assert len(got) == 1, got  # a restart does not send the day again
    finally:
        close()
