"""Zigbee2MQTT codec: payloads as the device pages on zigbee2mqtt.io document them, and hostile input."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import (
    ButtonAction,
    ButtonPress,
    Contact,
    DeviceStatus,
    Motion,
    Presence,
    PresenceState,
    PressPattern,
    Stamp,
)
from drivers.zigbee2mqtt.codec import Problem, Zigbee2MqttCodec, ZigbeeDevice

AT = Stamp(50.0, 1_700_000_000.0)
DEVICES = [
    ZigbeeDevice("pir-hall", "hall pir", "pir", "hall"),
    ZigbeeDevice("door-front", "front door", "door", "entrance"),
    ZigbeeDevice("sos-bed", "sos button", "sos", "bedroom"),
    ZigbeeDevice("sos-ias", "ias sos", "sos", "living"),
    ZigbeeDevice("bed-mat", "bed mat", "bed", "bedroom"),
    ZigbeeDevice("fp-bath", "bath presence", "presence", "bathroom"),
    ZigbeeDevice("remote", "hall remote", "other", "hall", help_actions=("double",), cancel_actions=("single",)),
]

# Golden payloads: the fields, types and values each device page documents ("Exposes").
# Tuya TS0202 motion sensor: occupancy, battery_low, battery, voltage, tamper (+ linkquality).
TS0202 = {"battery": 100, "battery_low": False, "linkquality": 142, "occupancy": True, "tamper": False,
          "voltage": 3000}
# Aqara MCCGQ11LM / MCCGQ12LM door sensor: contact (false = open), battery, voltage, linkquality.
MCCGQ11LM_OPEN = {"battery": 91, "contact": False, "device_temperature": 21, "linkquality": 120,
                  "power_outage_count": 3, "voltage": 2995}
# Tuya BT400B panic button: action "emergency", battery, voltage, linkquality.
BT400B = {"action": "emergency", "battery": 100, "linkquality": 87, "voltage": 3100}
# Feibit SEB01ZB SOS button (IAS zone): sos, battery, battery_low, tamper, linkquality.
SEB01ZB = {"battery": 100, "battery_low": False, "linkquality": 60, "sos": True, "tamper": False}
# SmartThings STSS-PRES-001 / Tuya TS0601 bed presence: presence (bool), battery.
BED = {"battery": 80, "presence": True}


def codec() -> Zigbee2MqttCodec:
    return Zigbee2MqttCodec(DEVICES)


def msg(c: Zigbee2MqttCodec, name: str, payload: object, **kw: bool):  # type: ignore[no-untyped-def]
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return c.decode(f"zigbee2mqtt/{name}", raw, AT, **kw)


def test_pir_motion_battery_and_the_cached_state_repeated_is_not_motion_again():
    c = codec()
    d = msg(c, "hall pir", TS0202)
    assert d.observations == [
        Motion(device="pir-hall", at=AT, room="hall", active=True),
        DeviceStatus(device="pir-hall", at=AT, room="hall", battery_low=False, battery_pct=100.0),
    ]
    assert d.state["linkquality"] == 142 and d.state["tamper"] is False
    again = msg(c, "hall pir", {**TS0202, "battery": 99})  # a battery report carrying the cached occupancy
    assert [type(o) for o in again.observations] == [DeviceStatus]
    ended = msg(c, "hall pir", {**TS0202, "occupancy": False})
    assert ended.observations[0] == Motion(device="pir-hall", at=AT, room="hall", active=False)


def test_contact_false_means_open():
    c = codec()
    opened = msg(c, "front door", MCCGQ11LM_OPEN)
    assert opened.observations[0] == Contact(device="door-front", at=AT, room="entrance", kind="door", active=True)
    closed = msg(c, "front door", {**MCCGQ11LM_OPEN, "contact": True})
    assert closed.observations[0] == Contact(device="door-front", at=AT, room="entrance", kind="door",
                                             active=False)


def test_panic_button_action_is_a_help_call_every_time():
    c = codec()
    for _ in range(2):  # action is not cached by Zigbee2MQTT: each message is a press
        d = msg(c, "sos button", BT400B)
        assert d.observations[0] == ButtonPress(device="sos-bed", at=AT, room="bedroom", action=ButtonAction.HELP,
                                                pattern=PressPattern.ALARM)  # always an emergency
    for action in ("sos", "panic"):
        assert isinstance(msg(c, "sos button", {"action": action}).observations[0], ButtonPress)
    unmapped = msg(c, "sos button", {"action": "hold"})
    assert unmapped.observations == [] and unmapped.problem is Problem.UNMAPPED_ACTION


def test_ias_sos_bit_is_a_press_on_its_rising_edge():
    c = codec()
    assert isinstance(msg(c, "ias sos", SEB01ZB).observations[0], ButtonPress)
    assert [type(o) for o in msg(c, "ias sos", SEB01ZB).observations] == [DeviceStatus]  # same state again
    msg(c, "ias sos", {**SEB01ZB, "sos": False})
    assert isinstance(msg(c, "ias sos", SEB01ZB).observations[0], ButtonPress)


def test_configured_action_mapping_help_and_cancel():
    c = codec()
    assert msg(c, "hall remote", {"action": "double"}).observations[0].action is ButtonAction.HELP  # type: ignore[attr-defined]
    assert msg(c, "hall remote", {"action": "single"}).observations[0].action is ButtonAction.CANCEL  # type: ignore[attr-defined]
    other = msg(c, "hall remote", {"action": "long"})  # not an SOS button: an unmapped action is not a problem
    assert other.observations == [] and other.problem is None


def test_bed_mat_and_presence_sensor():
    c = codec()
    assert msg(c, "bed mat", BED).observations[0] == Contact(device="bed-mat", at=AT, room="bedroom", kind="bed",
                                                            active=True)
    assert msg(c, "bath presence", {"presence": True}).observations == [
        Presence(device="fp-bath", at=AT, room="bathroom", state=PresenceState.PRESENT)]
    assert msg(c, "bath presence", {"occupancy": False}).observations == [
        Presence(device="fp-bath", at=AT, room="bathroom", state=PresenceState.NONE)]


def test_retained_state_is_a_starting_point_not_an_event():
    c = codec()
    assert msg(c, "ias sos", SEB01ZB, retained=True).observations == []
    assert [type(o) for o in msg(c, "ias sos", SEB01ZB).observations] == [DeviceStatus]


def test_availability_plain_and_json():
    c = codec()
    for payload, up in ((b"online", True), (b"offline", False), (b'{"state":"online"}', True),
                        (b'{"state":"offline"}', False)):
        d = c.decode("zigbee2mqtt/hall pir/availability", payload, AT)
        assert d.observations == [DeviceStatus(device="pir-hall", at=AT, room="hall", connected=up)]
    assert c.decode("zigbee2mqtt/hall pir/availability", b"maybe", AT).problem is Problem.MALFORMED


def test_bridge_devices_for_learn_mode_and_other_topics_ignored():
    c = codec()
    devices = [{"type": "Coordinator", "ieee_address": "0x00124b0000000000", "friendly_name": "Coordinator"},
               {"type": "EndDevice", "ieee_address": "0x00158d0001a2b3c4", "friendly_name": "new pir",
                "definition": {"model": "RTCGQ11LM", "vendor": "Aqara", "exposes": []}}]
    d = c.decode("zigbee2mqtt/bridge/devices", json.dumps(devices).encode(), AT)
    assert d.bridge_devices is not None and [b.model for b in d.bridge_devices] == ["RTCGQ11LM"]
    assert c.decode("zigbee2mqtt/bridge/state", b'{"state":"online"}', AT).observations == []
    assert c.decode("zigbee2mqtt/hall pir/set", b'{"x":1}', AT).problem is None
    assert c.decode("other/topic", b"{}", AT).problem is None


def test_unknown_malformed_and_oversize():
    c = codec()
    assert msg(c, "someone else's lamp", {"state": "ON"}).problem is Problem.UNKNOWN_DEVICE
    assert msg(c, "hall pir", b"{not json").problem is Problem.MALFORMED
    assert msg(c, "hall pir", b"[1,2]").problem is Problem.MALFORMED
    assert msg(c, "hall pir", b"\xff\xfe").problem is Problem.MALFORMED
    assert msg(c, "hall pir", b" " * (65 * 1024)).problem is Problem.OVERSIZE
    # Unknown fields and wrong types are ignored, not trusted.
    d = msg(c, "hall pir", {"occupancy": "yes", "battery": "full", "illuminance": 30})
    assert d.observations == [] and d.problem is None


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["hall pir", "sos button", "bath presence", "hall pir/availability", "bridge/devices",
                        "nobody"]),
       st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
       st.booleans())
def test_hostile_payloads_never_crash(name: str, payload: bytes, retained: bool) -> None:
    d = Zigbee2MqttCodec(DEVICES).decode(f"zigbee2mqtt/{name}", payload, AT, retained=retained)
    assert isinstance(d.observations, list)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["occupancy", "contact", "sos", "action", "battery", "battery_low",
                                        "presence", "tamper", "linkquality", "x"]),
                       st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=12), max_size=8))
def test_any_field_mix_decodes(fields: dict[str, object]) -> None:
    c = Zigbee2MqttCodec(DEVICES)
    for name in ("hall pir", "front door", "sos button", "bed mat", "bath presence", "hall remote"):
        c.decode(f"zigbee2mqtt/{name}", json.dumps(fields).encode(), AT)


async def test_an_unreadable_ca_file_is_one_error_not_a_crash_loop(tmp_path):
    import asyncio

    from drivers.zigbee2mqtt import BrokerSettings, Zigbee2MqttDriver

    driver = Zigbee2MqttDriver(BrokerSettings(tls=True, ca_file=str(tmp_path / "missing.pem")), DEVICES,
                               lambda o: None, lambda: AT)
    task = asyncio.create_task(driver.run())
    await asyncio.sleep(0.2)
    assert not task.done() and driver.counters["settings_error"] == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
