"""Call requests through the alert policy and a real store, their config checks, and the codecs' press patterns."""

from __future__ import annotations

import json

import pytest

from detection.events import ButtonAction, ButtonPress, Finding, PressPattern, Severity, Stamp
from drivers.ble.profiles.microbit import BUTTON_A, BUTTON_B, MicrobitDecoder
from drivers.rflink.codec import DeviceSpec, DeviceTable, decode_line, encode_frame
from drivers.zigbee2mqtt.actions import press_pattern
from drivers.zigbee2mqtt.codec import Zigbee2MqttCodec, ZigbeeDevice
from gateway.alerts import AlertPolicy
from gateway.alerts.payload import finalize
from gateway.config import ConfigError, validate
from gateway.config.schema import AlertConfig
from gateway.platform_changes import check
from gateway.store import Store
from gateway.topics import Topics
from tests.unit.test_alert_policy import FakeClock

AT = Stamp(50.0, 50.0)


@pytest.fixture
def env(tmp_path):
    store = Store(tmp_path / "s.db")
    clock = FakeClock()
    policy = AlertPolicy(store, AlertConfig(ack_timeout_s=60, max_escalation_level=2), "site",
                         Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                         wake_uplink=lambda: None, wall=lambda: 1_700_000_000.0 + clock.t)
    yield policy, store, clock
    store.close()


def request(clock: FakeClock, service: str = "call_back", device: str = "sos") -> Finding:
    return Finding(type="call_request", severity=Severity.INFO, at=clock.now(), key=f"request:{service}",
                   device=device, room="living", evidence={"button": device, "service": service, "pattern": "double"})


def outbox(store: Store) -> list[tuple[str, dict]]:
    return [(r.topic, json.loads(finalize(r.payload, boot_id="boot-1", historical_after_s=30)))
            for r in store.outbox(limit=1000)]


def test_a_request_has_its_own_topic_and_payload_waits_for_its_ack_and_never_escalates(env):
    policy, store, clock = env
    policy.on_finding(request(clock))
    ((topic, msg),) = outbox(store)
    assert topic == "carehub/v1/site/call_request"
    assert {k: msg[k] for k in ("type", "service", "state", "device", "room", "pattern", "requests", "seq")} == {
        "type": "call_request", "service": "call_back", "state": "open", "device": "sos", "room": "living",
        "pattern": "double", "requests": 1, "seq": 1}
    assert msg["historical"] is False and "sent_at" in msg and "requested_at" in msg and "level" not in msg
    for _ in range(5):
        clock.t += 61
        policy.tick()
    assert len(outbox(store)) == 1, "a request is never escalated"
    (row,) = policy.open_alerts()
    assert (row.type, row.severity, row.state, row.level) == ("call_request", "info", "open", 0)
    assert policy.on_platform_ack(msg["id"], "operator")
    assert policy.open_alerts() == []
    assert store.get_alert(msg["id"]).state == "acked"  # type: ignore[union-attr]


def test_the_same_service_asked_again_while_open_folds_into_it_another_service_is_its_own(env):
    policy, store, clock = env
    policy.on_finding(request(clock))
    clock.t += 300
    policy.on_finding(request(clock, device="pendant"))
    assert len(outbox(store)) == 1
    (row,) = policy.open_alerts()
    assert row.evidence["requests"] == 2
    policy.on_finding(request(clock, "meals"))
    assert sorted(r.evidence["service"] for r in policy.open_alerts()) == ["call_back", "meals"]


def test_an_open_request_is_re_sent_on_connect_and_resumed_after_a_restart(env, tmp_path):
    policy, store, clock = env
    policy.on_finding(request(clock))
    for r in store.outbox():
        store.outbox_published(r.msg_id, 1.0)
    assert policy.resend_open() == 1
    ((topic, msg),) = outbox(store)
    assert topic.endswith("/call_request") and msg["note"] == "re-sent on connect"
    again = AlertPolicy(store, AlertConfig(), "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                        wake_uplink=lambda: None)
    again.resume()
    assert [r.type for r in again.open_alerts()] == ["call_request"]


def test_a_request_from_the_wearable_does_not_cancel_its_pending_fall(env):
    policy, _store, clock = env
    policy.on_finding(Finding(type="fall", severity=Severity.EMERGENCY, at=clock.now(), key="fall:pendant",
                              device="pendant", cancel_window_s=30, evidence={"score": 0.9}))
    policy.on_finding(request(clock, device="pendant"))
    assert sorted(r.state for r in policy.open_alerts()) == ["open", "pending"]


def test_request_acks_are_parsed_from_their_own_topic():
    t = Topics.for_site("carehub/v1", "s")
    assert t.parse_ack("carehub/v1/s/call_request/abc/ack") == "abc"
    assert t.parse_ack("carehub/v1/s/call_request/a/b/ack") is None
    assert t.call_request_ack("abc") == "carehub/v1/s/call_request/abc/ack"


# --- config ----------------------------------------------------------------------------------------

SOS = {"id": "b", "protocol": "EV1527", "address": "a1", "kind": "sos"}


def errors(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as exc:
        validate(data)
    return [(e.path, e.allowed) for e in exc.value.errors]


def test_an_unknown_service_is_refused_naming_the_known_ones():
    ((path, allowed),) = errors({"devices": [{**SOS, "presses": {"single": "meal"}}]})
    assert path == "devices[0].presses.single"
    assert "call_back, meals, housekeeping, visit" in allowed and "buttons.services" in allowed
    cfg = validate({"devices": [{**SOS, "presses": {"single": "pharmacy"}}], "buttons": {"services": ["pharmacy"]}})
    assert cfg.devices[0].presses is not None and cfg.devices[0].presses.single == "pharmacy"


def test_a_map_on_a_device_without_a_button_is_refused():
    pir = {"id": "p", "protocol": "EV1527", "address": "a2", "kind": "pir", "presses": {"single": "meals"}}
    ((path, allowed),) = errors({"devices": [pir]})
    assert path == "devices[0].presses" and "kind 'sos'" in allowed and "'pir'" in allowed
    zpir = {"id": "z", "friendly_name": "hall", "kind": "pir", "presses": {"double": "meals"}}
    ((path, _),) = errors({"zigbee_devices": [zpir]})
    assert path == "zigbee_devices[0].presses"
    hr = {"id": "w", "address": "AA:BB:CC:DD:EE:FF", "profile": "heart_rate", "presses": {"single": "meals"}}
    ((path, allowed),) = errors({"wearables": [hr]})
    assert path == "wearables[0].presses" and "'carehub' or 'microbit'" in allowed


def test_a_request_that_cannot_be_told_from_an_emergency_is_refused_on_a_press_only_radio():
    ((path, allowed),) = errors({"devices": [{**SOS, "presses": {"double": "call_back"}}]})
    assert path == "devices[0].presses.double" and "raises the emergency at once" in allowed
    # Zigbee2MQTT names the pattern itself: the same map is fine there.
    validate({"zigbee_devices": [{"id": "z", "friendly_name": "bed", "kind": "sos",
                                  "presses": {"double": "call_back"}}]})
    validate({"devices": [{**SOS, "presses": {"single": "call_back", "double": "emergency"}}]})


def test_a_second_button_needs_its_code_and_the_carehub_profile_has_neither_long_nor_second():
    ((path, _),) = errors({"devices": [{**SOS, "presses": {"second": "meals"}}]})
    assert path == "devices[0].second_switch"
    validate({"devices": [{**SOS, "presses": {"second": "meals"}, "second_switch": "off"}]})
    taken = [{**SOS, "switch": "01", "second_switch": "2"}, {**SOS, "id": "c", "switch": "02"}]
    ((path, allowed),) = errors({"devices": taken})
    assert path == "devices[0].second_switch" and "devices[1]" in allowed
    pendant = {"id": "w", "address": "AA:BB:CC:DD:EE:FF", "profile": "carehub",
               "presses": {"single": "meals", "long": "visit"}}
    ((path, _),) = errors({"wearables": [pendant]})
    assert path == "wearables[0].presses.long"


def test_no_map_keeps_the_file_as_it_was():
    cfg = validate({"devices": [SOS]})
    assert cfg.devices[0].presses is None and cfg.buttons.double_press_s == 4.0


# --- codecs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "pattern"), [
    # zigbee2mqtt.io device pages: SONOFF SNZB-01, Tuya TS0041/TS0042, Aqara WXKG11LM/WXKG02LM, MULTI-ZIG-SW.
    ("single", PressPattern.SINGLE), ("double", PressPattern.DOUBLE), ("hold", PressPattern.LONG),
    ("long", PressPattern.LONG), ("1_single", PressPattern.SINGLE), ("2_double", PressPattern.SECOND),
    ("single_left", PressPattern.SINGLE), ("hold_right", PressPattern.SECOND),
    ("button_1_hold", PressPattern.LONG), ("button_2_single", PressPattern.SECOND),
    ("release", None), ("hold_release", None), ("triple", None), ("3_single", None), ("single_both", None),
    ("on", None), ("brightness_move_up", None), ("emergency", None),
])
def test_zigbee_action_names_read_as_press_patterns(action, pattern):
    assert press_pattern(action) is pattern


def test_zigbee_button_with_a_map_reports_its_patterns_and_its_alarm_as_an_alarm():
    codec = Zigbee2MqttCodec([ZigbeeDevice("zb", "bed button", "sos", "bedroom", patterns=True)])
    d = codec.decode("zigbee2mqtt/bed button", b'{"action": "double", "battery": 90}', AT)
    assert [o for o in d.observations if isinstance(o, ButtonPress)] == [
        ButtonPress(device="zb", at=AT, room="bedroom", pattern=PressPattern.DOUBLE)]
    d = codec.decode("zigbee2mqtt/bed button", b'{"action": "emergency"}', AT)
    assert d.observations[0].pattern is PressPattern.ALARM  # type: ignore[attr-defined]
    plain = Zigbee2MqttCodec([ZigbeeDevice("zb", "bed button", "sos", "bedroom")])
    assert plain.decode("zigbee2mqtt/bed button", b'{"action": "double"}', AT).problem is not None, \
        "without a map an unknown action is still reported, as before"


def test_rflink_second_button_by_switch_or_by_its_off_code():
    by_switch = DeviceTable([DeviceSpec("b", "EV1527", "a1", "sos", "bedroom", "01", second_switch="02")])
    d = decode_line(encode_frame(1, "EV1527", "a1", "02", "ON"), AT, by_switch)
    assert d.observations == [ButtonPress(device="b", at=AT, room="bedroom", pattern=PressPattern.SECOND)]
    d = decode_line(encode_frame(2, "EV1527", "a1", "01", "ON"), AT, by_switch)
    assert d.observations == [ButtonPress(device="b", at=AT, room="bedroom")]
    by_off = DeviceTable([DeviceSpec("b", "EV1527", "a1", "sos", "bedroom", second_switch="off")])
    d = decode_line(encode_frame(3, "EV1527", "a1", None, "OFF"), AT, by_off)
    assert d.observations[0].pattern is PressPattern.SECOND  # type: ignore[attr-defined]
    plain = DeviceTable([DeviceSpec("b", "EV1527", "a1", "sos", "bedroom")])
    assert decode_line(encode_frame(4, "EV1527", "a1", None, "OFF"), AT, plain).observations == [], \
        "without a second button an OFF is still no call for help"


def test_micro_bit_b_short_press_is_the_second_button_and_its_long_press_only_cancels():
    dec = MicrobitDecoder("mb", "wrist")
    assert dec.decode(BUTTON_B, b"\x01", AT) == []
    assert dec.decode(BUTTON_B, b"\x00", AT) == [ButtonPress(device="mb", at=AT, pattern=PressPattern.SECOND)]
    assert dec.decode(BUTTON_B, b"\x01", AT) == []
    assert dec.decode(BUTTON_B, b"\x02", AT) == [ButtonPress(device="mb", at=AT, action=ButtonAction.CANCEL)]
    assert dec.decode(BUTTON_B, b"\x00", AT) == []
    assert dec.decode(BUTTON_A, b"\x01", AT) == [ButtonPress(device="mb", at=AT)]
    assert dec.decode(BUTTON_A, b"\x02", AT) == [ButtonPress(device="mb", at=AT, pattern=PressPattern.LONG)]


def test_the_platform_may_not_remap_a_button_without_maintenance_nor_touch_the_buttons_section():
    old = validate({"devices": [SOS]})
    remapped = validate({"devices": [{**SOS, "presses": {"single": "meals"}}]})
    errors, _ = check(old, remapped, None)
    assert [e.path for e in errors] == ["devices.b"], "a help button remapped to meals is a change of the device"
    errors, _ = check(old, validate({"devices": [SOS], "buttons": {"double_press_s": 9}}), None)
    assert [e.path for e in errors] == ["buttons.double_press_s"]
