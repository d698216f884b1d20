"""rtl_433 codec: events as rtl_433's decoders print them, learned codes, and hostile lines."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import ButtonAction, ButtonPress, Contact, DeviceStatus, Motion, Stamp
from drivers.rtl433.codec import Problem, Rtl433Codec, Rtl433Device

AT = Stamp(100.0, 1_700_000_000.0)
DEVICES = [
    Rtl433Device("pir-hall", "Kerui-Security", "840811", "pir", "hall"),
    Rtl433Device("door-front", "Honeywell-Security", "123456", "door", "entrance", channel="8"),
    Rtl433Device("sky-pir", "Skylink HA-434TL motion sensor", "1e3e8", "pir", "living"),
    Rtl433Device("door-cheap", "Generic-Remote", "1234", "door", "kitchen", active_codes=("10",),
                 inactive_codes=("14",)),
    Rtl433Device("sos-bed", "Generic-Remote", "4660", "sos", "bedroom"),
]

# Real lines (homebridge-rtl_433's README quotes them from rtl_433's output).
KERUI_MOTION = '{"time" : "2022-03-23 20:11:54.643434", "protocol" : 68, "model" : "Kerui-Security", ' \
               '"id" : 840811, "cmd" : 10, "motion" : 1, "state" : "motion" }'
SKYLINK = '{"time" : "2019-04-03 09:43:05", "model" : "Skylink HA-434TL motion sensor", "motion" : "false", ' \
          '"id" : "1e3e8", "raw" : "5e3e8"}'
# The fields of rtl_433's honeywell.c and generic_remote.c decoders.
HONEYWELL_OPEN = {"time": "2024-01-01 08:00:00", "model": "Honeywell-Security", "id": 123456, "channel": 8,
                  "event": 128, "state": "open", "contact_open": 1, "reed_open": 0, "alarm": 0, "tamper": 0,
                  "battery_ok": 1, "heartbeat": 0, "mic": "CRC"}
GENERIC = {"time": "2024-01-01 08:00:00", "model": "Generic-Remote", "id": 1234, "cmd": 10,
           "tristate": "00ZX0Z1ZZX0X"}


def line(obj: object) -> str:
    return obj if isinstance(obj, str) else json.dumps(obj)


def test_kerui_pir_motion():
    d = Rtl433Codec(DEVICES).decode(KERUI_MOTION, AT)
    assert d.observations == [Motion(device="pir-hall", at=AT, room="hall", active=True)]
    assert d.heard is not None and (d.heard.model, d.heard.address, d.heard.code) == ("Kerui-Security", "840811",
                                                                                       "10")


def test_skylink_string_id_and_string_flag():
    d = Rtl433Codec(DEVICES).decode(SKYLINK, AT)
    assert d.observations == [Motion(device="sky-pir", at=AT, room="living", active=False)]


def test_honeywell_door_channel_and_battery_low_said_once():
    c = Rtl433Codec(DEVICES)
    assert c.decode(line(HONEYWELL_OPEN), AT).observations == [
        Contact(device="door-front", at=AT, room="entrance", kind="door", active=True),
        DeviceStatus(device="door-front", at=AT, room="entrance", battery_low=False)]
    low = {**HONEYWELL_OPEN, "state": "closed", "contact_open": 0, "battery_ok": 0}
    later = AT.after(5)
    assert c.decode(line(low), later).observations == [
        Contact(device="door-front", at=later, room="entrance", kind="door", active=False),
        DeviceStatus(device="door-front", at=later, room="entrance", battery_low=True)]
    again = c.decode(line(low), AT.after(10)).observations
    assert not any(isinstance(o, DeviceStatus) for o in again)  # battery-low once
    other_channel = c.decode(line({**HONEYWELL_OPEN, "channel": 2}), AT)
    assert other_channel.problem is Problem.UNKNOWN_DEVICE


def test_generic_remote_learned_codes_and_bursts_folded():
    c = Rtl433Codec(DEVICES)
    assert c.decode(line(GENERIC), AT).observations == [
        Contact(device="door-cheap", at=AT, room="kitchen", kind="door", active=True)]
    assert c.decode(line(GENERIC), AT.after(0.3)).observations == []  # a copy in the same burst
    closed = c.decode(line({**GENERIC, "cmd": 14}), AT.after(2))
    assert closed.observations[0].active is False  # type: ignore[attr-defined]
    unknown_code = c.decode(line({**GENERIC, "cmd": 7}), AT.after(3))
    assert unknown_code.observations == [] and unknown_code.problem is Problem.NO_MEANING
    assert unknown_code.heard is not None and unknown_code.heard.code == "7"  # for learn mode


def test_generic_sos_button_with_no_codes_is_a_help_call():
    d = Rtl433Codec(DEVICES).decode(line({"model": "Generic-Remote", "id": 4660, "cmd": 3, "tristate": "x"}), AT)
    assert d.observations == [ButtonPress(device="sos-bed", at=AT, room="bedroom", action=ButtonAction.HELP)]


def test_unknown_malformed_and_oversize():
    c = Rtl433Codec(DEVICES)
    assert c.decode(line({"model": "Acurite-986", "id": 21650, "temperature_C": 20.5}), AT).problem \
        is Problem.UNKNOWN_DEVICE
    for bad in ("{not json", "[1]", '{"id": 1}', '{"model": 5, "id": 1}', b"\xff\xfe"):
        assert c.decode(bad, AT).problem is Problem.MALFORMED
    assert c.decode("{" + " " * 9000 + "}", AT).problem is Problem.OVERSIZE


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=3), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300),
                 st.dictionaries(st.sampled_from(["model", "id", "channel", "subtype", "cmd", "tristate", "state",
                                                  "motion", "contact_open", "battery_ok", "alarm", "x"]),
                                 json_values, max_size=8).map(json.dumps)))
def test_hostile_lines_never_crash(raw: bytes | str) -> None:
    d = Rtl433Codec(DEVICES).decode(raw, AT)
    assert isinstance(d.observations, list)
