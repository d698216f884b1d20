"""RFLink codec: golden lines from real gateways, and properties over arbitrary input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import ButtonAction, ButtonPress, Contact, DeviceStatus, Motion, Stamp
from drivers.rflink.codec import (
    MAX_LINE,
    DeviceSpec,
    DeviceTable,
    LineFramer,
    Problem,
    RepeatFilter,
    decode_line,
    encode_frame,
)

AT = Stamp(100.0, 1_700_000_000.0)
TABLE = DeviceTable([
    DeviceSpec("sos", "EV1527", "0a1b2c", "sos", "bedroom", "01"),
    DeviceSpec("pir", "EV1527", "0c0001", "pir", "living"),
    DeviceSpec("door", "Kaku", "41", "door", "entrance", "1"),
    DeviceSpec("bed", "NewKaku", "00c142", "bed", "bedroom", "1"),
])


def test_sos_button_press_is_a_help_call():
    d = decode_line(b"20;2D;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;", AT, TABLE)
    assert d.problem is None
    assert d.observations == [ButtonPress(device="sos", at=AT, room="bedroom", action=ButtonAction.HELP)]
    assert d.heard is not None and d.heard.device == "sos"


def test_pir_with_any_switch_and_battery_low():
    d = decode_line(b"20;3A;EV1527;ID=0C0001;SWITCH=0f;CMD=ON;BAT=LOW;", AT, TABLE)
    assert d.observations == [
        Motion(device="pir", at=AT, room="living", active=True),
        DeviceStatus(device="pir", at=AT, room="living", battery_low=True),
    ]


def test_kaku_padded_id_and_door_states():
    opened = decode_line(b"20;06;Kaku;ID=41;SWITCH=1;CMD=ON;", AT, TABLE)
    closed = decode_line(b"20;07;Kaku;ID=41;SWITCH=1;CMD=OFF;", AT, TABLE)
    assert opened.observations == [Contact(device="door", at=AT, room="entrance", kind="door", active=True)]
    assert closed.observations == [Contact(device="door", at=AT, room="entrance", kind="door", active=False)]


def test_pir_field_instead_of_cmd():
    table = DeviceTable([DeviceSpec("p", "Conrad", "0a", "pir", "hall")])
    d = decode_line(b"20;0C;Conrad;ID=0a;SWITCH=01;PIR=ON;", AT, table)
    assert d.observations == [Motion(device="p", at=AT, room="hall", active=True)]


def test_gateway_messages_are_info_not_problems():
    banner = decode_line(b"20;00;Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R48;", AT, TABLE)
    assert banner.problem is None and banner.info and banner.info["revision"] == "48"
    pong = decode_line(b"20;01;PONG;", AT, TABLE)
    assert pong.info == {"protocol": "unknown", "ping": "pong"}


def test_problems_are_named():
    assert decode_line(b"\xff\xfe20;01;", AT, TABLE).problem is Problem.INVALID_UTF8
    assert decode_line(b"hello", AT, TABLE).problem is Problem.MALFORMED
    assert decode_line(b"20;02;EV1527;ID=0a1b", AT, TABLE).problem is Problem.MALFORMED
    unknown = decode_line(b"20;03;Other;ID=99;SWITCH=01;CMD=ON;", AT, TABLE)
    assert unknown.problem is Problem.UNKNOWN_DEVICE and unknown.heard and unknown.heard.device is None
    odd = decode_line(b"20;04;EV1527;ID=0a1b2c;SWITCH=01;CMD=UP;", AT, TABLE)
    assert odd.problem is Problem.UNKNOWN_COMMAND and odd.observations == []


def test_sos_release_is_not_a_call():
    d = decode_line(b"20;05;EV1527;ID=0a1b2c;SWITCH=01;CMD=OFF;", AT, TABLE)
    assert d.observations == [] and d.problem is None


def test_encode_round_trips():
    line = encode_frame(0x12, "EV1527", "0a1b2c", "01", "on", "low")
    assert line == b"20;12;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;BAT=LOW;\r\n"
    d = decode_line(line.rstrip(), AT, TABLE)
    assert isinstance(d.observations[0], ButtonPress)


def test_framer_splits_and_drops_overlong():
    f = LineFramer()
    assert f.feed(b"a\r\nb") == [b"a"]
    assert f.feed(b"c\n") == [b"bc"]
    assert f.feed(b"x" * (MAX_LINE + 10)) == []
    assert f.feed(b"tail\nok\n") == [b"ok"]
    assert f.overlong == 1


def test_repeat_filter_folds_bursts_not_distinct_presses():
    r = RepeatFilter(window_s=1.5)
    press = lambda t: ButtonPress(device="sos", at=Stamp(t, t))  # noqa: E731
    assert [r.admit(press(t)) for t in (0.0, 0.2, 0.4, 3.0)] == [True, False, False, True]
    door = lambda t, a: Contact(device="d", at=Stamp(t, t), active=a)  # noqa: E731
    assert r.admit(door(0.0, True)) and r.admit(door(0.1, False))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_never_raise(data: bytes):
    f = LineFramer()
    for line in f.feed(data):
        d = decode_line(line, AT, TABLE)
        assert d.problem is not None or d.observations or d.info is not None or d.heard is not None or not line.strip()


printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters=";\r\n"),
                    min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(printable, min_size=0, max_size=8))
def test_any_field_list_never_raises(fields: list[str]):
    line = ("20;01;" + ";".join(fields) + ";").encode()
    decode_line(line, AT, TABLE)


@settings(max_examples=300, deadline=None)
@given(
    address=st.text(alphabet="0123456789abcdef", min_size=1, max_size=6),
    switch=st.text(alphabet="0123456789", min_size=1, max_size=2),
    command=st.sampled_from(["ON", "OFF", "ALLON", "ALLOFF"]),
    kind=st.sampled_from(["pir", "door", "sos", "bed", "seat"]),
)
def test_configured_code_always_maps_to_its_device(address: str, switch: str, command: str, kind: str):
    table = DeviceTable([DeviceSpec("dev", "EV1527", address, kind, "hall", switch)])
    d = decode_line(encode_frame(1, "EV1527", address, switch, command).rstrip(), AT, table)
    assert d.problem is None
    assert d.heard is not None and d.heard.device == "dev"
    on = command in ("ON", "ALLON")
    if kind == "sos" and not on:
        assert d.observations == []
    else:
        assert len(d.observations) == 1 and d.observations[0].device == "dev"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), max_size=20))
def test_framer_chunking_does_not_change_lines(chunks: list[bytes]):
    whole = b"".join(chunks)
    a, b = LineFramer(), LineFramer()
    assert a.feed(whole) == [line for c in chunks for line in b.feed(c)]
