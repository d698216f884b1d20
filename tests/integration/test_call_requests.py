"""Buttons that ask for more than help, through the daemon and real brokers (docs/alerts.md, "Press patterns").

An RFLink button on a pseudo-terminal, a Zigbee button through Zigbee2MQTT's broker
and an emulated BLE pendant: the press patterns mapped to a service become call
requests that the platform emulator receives on their own topic and acknowledges,
never escalated; the patterns mapped to an emergency are raised on the press that
makes them, and a button without a map is an emergency at once, as always.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from detection.events import ButtonAction
from simulators.broker import Mosquitto
from simulators.rflink import RadioCode, RflinkEmulator
from simulators.wearable import VirtualWearable, WearableEmulator
from simulators.zigbee2mqtt import Zigbee2MqttEmulator
from tests.conftest import CODES, DEVICES, hub_config

pytestmark = pytest.mark.integration

# A call button: one press asks for a call back, a double press is an emergency. A day button: a
# press is an emergency, its second channel (the code's OFF) asks for meals. The bed button has no
# map: every press an emergency, as always. (A radio that only sends presses cannot make a double
# press a request while a single press is an emergency: the first press already raised it.)
DAY_BUTTON = {"id": "sos-day", "protocol": "EV1527", "address": "0a1b2d", "kind": "sos", "room": "living",
              "presses": {"single": "emergency", "second": "meals"}, "second_switch": "off"}
CALL_BUTTON = {"id": "sos-call", "protocol": "EV1527", "address": "0a1b2e", "kind": "sos", "room": "living",
               "presses": {"single": "call_back", "double": "emergency"}}
ALERTS = {"ack_timeout_s": 2.0, "max_escalation_level": 3}


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _waited_s(alert: dict[str, Any]) -> float:
    """How long the hub held the alert between the press it stands for and raising it."""
    return _seconds(alert["raised_at"]) - _seconds(alert["detected_at"])


def test_rflink_double_press_asks_for_a_call_and_a_single_press_is_still_an_emergency(
        tmp_path, mosquitto, rflink: RflinkEmulator, platform, daemon_factory):
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link, devices=[*DEVICES, CALL_BUTTON, DAY_BUTTON],
                     alerts=ALERTS)
    hub = daemon_factory(cfg).start()
    hub.wait_event("uplink.connected")
    call = RadioCode("EV1527", "0a1b2e", "")

    # One press of the call button, then nothing: after the double-press window it is a call back.
    rflink.frame(call, "ON", repeats=3)
    assert platform.wait_for(lambda p: bool(p.requests), timeout=10)
    first = platform.requests[0]
    assert (first["type"], first["service"], first["device"], first["pattern"]) == \
        ("call_request", "call_back", "sos-call", "single")
    assert first["_topic"] == "carehub/v1/test-site/call_request"
    assert _seconds(first["sent_at"]) - _seconds(first["requested_at"]) >= 3.5, "a request waits for its pattern"
    hub.wait_event("alert.acked", where=lambda e: e.get("id") == first["id"])
    assert not platform.alerts, "a request is not an alert"

    # Pressed again (its own burst), then a second press after the burst gap: a double press, an emergency.
    t_press = time.monotonic()
    rflink.frame(call, "ON", repeats=2)
    time.sleep(2.0)
    rflink.frame(call, "ON", repeats=2)
    assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10)
    help_alert = platform.alerts_of("help_call")[0]
    assert help_alert["device"] == "sos-call" and help_alert["evidence"]["pattern"] == "double"
    assert _waited_s(help_alert) < 0.5, "raised on the second press itself, not after a window"
    assert help_alert["_received"] - t_press < 2.0 + 3.0

    # The bed button has no press map: one press, an emergency at once, as always.
    t_bed = time.monotonic()
    rflink.frame(CODES["sos-bed"], "ON", repeats=3)
    assert platform.wait_for(lambda p: any(a["device"] == "sos-bed" for a in p.alerts_of("help_call")), timeout=5)
    bed = next(a for a in platform.alerts_of("help_call") if a["device"] == "sos-bed")
    assert _waited_s(bed) < 0.5 and bed["_received"] - t_bed < 3.0, "a single press that is an emergency never waits"

    # The day button's second channel (its OFF code) asks for meals, at once.
    day = RadioCode("EV1527", "0a1b2d", "")
    rflink.frame(day, "OFF", repeats=2)
    assert platform.wait_for(lambda p: any(r["service"] == "meals" for r in p.requests), timeout=5)
    hub.wait_event("request.raised", where=lambda e: e.get("service") == "meals")

    # Well past ack_timeout_s: nothing about any request was escalated or sent as an alert.
    time.sleep(ALERTS["ack_timeout_s"] * 2 + 1)
    request_ids = {r["id"] for r in platform.requests}
    assert not [e for e in hub.find("alert.escalated") if e.get("id") in request_ids]
    assert not [a for a in platform.alerts if a["id"] in request_ids]
    for rid in request_ids:
        hub.wait_event("alert.acked", where=lambda e, rid=rid: e.get("id") == rid)
    assert hub.stop() == 0


def test_zigbee_double_action_is_a_call_request_and_single_is_an_emergency(
        tmp_path, mosquitto, platform, daemon_factory):
    zbroker = Mosquitto().start()
    try:
        button = {"id": "zb-button", "friendly_name": "bed button", "kind": "sos", "room": "bedroom",
                  "presses": {"single": "emergency", "double": "call_back", "long": "housekeeping"}}
        cfg = hub_config(tmp_path, mosquitto.port, None, alerts=ALERTS,
                         zigbee2mqtt={"enabled": True, "host": "127.0.0.1", "port": zbroker.port},
                         zigbee_devices=[button])
        hub = daemon_factory(cfg).start()
        hub.wait_event("uplink.connected")
        hub.wait_event("zigbee2mqtt.connected", timeout=10)
        with Zigbee2MqttEmulator("127.0.0.1", zbroker.port) as z2m:
            z2m.add("bed button", "sos")
            z2m.event("bed button", "double")  # {"action": "double"}: the device says which pattern
            assert platform.wait_for(lambda p: bool(p.requests), timeout=10)
            request = platform.requests[0]
            assert (request["service"], request["device"], request["room"], request["pattern"]) == \
                ("call_back", "zb-button", "bedroom", "double")
            hub.wait_event("alert.acked", where=lambda e: e.get("id") == request["id"])
            z2m.event("bed button", "double")  # asked again after the acknowledgement: a new request
            assert platform.wait_for(lambda p: len({r["id"] for r in p.requests}) == 2, timeout=10)

            t_single = time.monotonic()
            z2m.event("bed button", "single")
            assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=5)
            alert = platform.alerts_of("help_call")[0]
            assert alert["severity"] == "emergency" and _waited_s(alert) < 0.5
            assert alert["_received"] - t_single < 3.0
            hub.wait_event("alert.acked", where=lambda e: e.get("id") == alert["id"])
            z2m.event("bed button", "sos")  # the device's own alarm: an emergency whatever the map says
            assert platform.wait_for(lambda p: len({a["id"] for a in p.alerts_of("help_call")}) == 2, timeout=5)
        time.sleep(ALERTS["ack_timeout_s"] * 2 + 1)
        request_ids = {r["id"] for r in platform.requests}
        assert not [e for e in hub.find("alert.escalated") if e.get("id") in request_ids]
        assert hub.stop() == 0
    finally:
        zbroker.stop()


def test_a_wearable_button_press_asks_for_a_visit_and_its_double_press_is_an_emergency(
        tmp_path, mosquitto, platform, daemon_factory):
    addr = "C0:FF:EE:00:00:07"
    emu = WearableEmulator(tmp_path / "ble.sock", [VirtualWearable(addr)]).start()
    try:
        cfg = hub_config(tmp_path, mosquitto.port, None, alerts=ALERTS,
                         ble={"enabled": True, "emulator_socket": str(emu.path)},
                         wearables=[{"id": "pendant", "address": addr, "profile": "carehub",
                                     "presses": {"single": "visit", "double": "emergency"}}])
        hub = daemon_factory(cfg).start()
        hub.wait_event("ble.connected", timeout=15)
        emu.press(addr, ButtonAction.HELP)
        assert platform.wait_for(lambda p: bool(p.requests), timeout=10), hub.tail()
        assert (platform.requests[0]["service"], platform.requests[0]["device"]) == ("visit", "pendant")
        emu.press(addr, ButtonAction.HELP)
        time.sleep(1.0)
        emu.press(addr, ButtonAction.HELP)  # two presses a second apart: a double press, an emergency
        assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10), hub.tail()
        alert = platform.alerts_of("help_call")[0]
        assert alert["device"] == "pendant" and _waited_s(alert) < 0.5
        assert hub.stop() == 0
    finally:
        emu.stop()


def test_rflink_held_button_is_a_long_press_from_its_repeated_frames(
        tmp_path, mosquitto, rflink: RflinkEmulator, platform, daemon_factory):
    held = {"id": "sos-hold", "protocol": "EV1527", "address": "0a1b2f", "kind": "sos", "room": "hall",
            "presses": {"single": "housekeeping", "long": "emergency"}}
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link, devices=[*DEVICES, held])).start()
    hub.wait_event("uplink.connected")
    code = RadioCode("EV1527", "0a1b2f", "")
    for _ in range(8):  # held 3.5 s: RFLink prints the code again about every half second
        rflink.frame(code, "ON")
        time.sleep(0.5)
    assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=5), hub.tail()
    alert = platform.alerts_of("help_call")[0]
    assert alert["device"] == "sos-hold" and alert["evidence"]["pattern"] == "long" and _waited_s(alert) < 0.5
    time.sleep(4.5)
    assert not platform.requests, "the held press was the emergency, not also a request"
    rflink.frame(code, "ON", repeats=2)  # a short press: after the long-press time, housekeeping
    assert platform.wait_for(lambda p: bool(p.requests), timeout=10), hub.tail()
    assert platform.requests[0]["service"] == "housekeeping"
    assert hub.stop() == 0
