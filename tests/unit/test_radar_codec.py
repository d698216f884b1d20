"""Radar codecs: golden frames from the vendors' documents and ESPHome/Tasmota, and hostile bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import Fall, Presence, PresenceState, Stamp
from drivers.radar.ld2410 import Ld2410Framer, TargetReport, TargetState, encode
from drivers.radar.mr60fda2 import (
    FALL,
    PEOPLE,
    FallReport,
    Mr60fda2Framer,
    OtherFrame,
    PeopleReport,
    checksum,
    fall,
    people,
)
from drivers.radar.mr60fda2 import encode as encode_mr
from drivers.radar.observations import HEARTBEAT_S, RadarDecoder, RadarSpec

# Hi-Link's protocol document, "reported data frame", basic mode example (also ESPHome's and
# many drivers' reference frame): a still target, moving distance 0x51 cm, still energy 0x3B.
LD_BASIC_DOC = bytes.fromhex("F4F3F2F1 0D00 02AA 02 5100 00 0000 3B 0000 5500 F8F7F6F5")
# Tasmota xsns_102_ld2410 (frames logged from real modules).
LD_BOTH = bytes.fromhex("F4F3F2F1 0D00 02AA 03 4600 34 0000 3C 0000 5500 F8F7F6F5")
LD_NONE_STALE = bytes.fromhex("F4F3F2F1 0D00 02AA 00 4500 3E 0000 3A 0000 5500 F8F7F6F5")
LD_ENGINEERING = bytes.fromhex(
    "F4F3F2F1 2300 01AA 00 1E00 00 1E00 0D 0000 0808 130E0702050703 0405 00000D0605050505 05 6200 5500 F8F7F6F5"
)
# An LD2410 command acknowledgement (enable configuration), which is not a report.
LD_ACK = bytes.fromhex("FDFCFBFA 0800 FF01 0000 0100 4000 04030201")

# ESPHome seeed_mr60fda2: the command frames it sends (header-only, checksum = ~XOR).
MR_GET_PARAMETERS = bytes.fromhex("0100000000 0E06 F6")
MR_RESET = bytes.fromhex("0100000000 2110 CF")

AT = Stamp(10.0, 1_700_000_000.0)


def test_ld2410_basic_frame_from_the_protocol_document():
    (r,) = Ld2410Framer().feed(LD_BASIC_DOC)
    assert r == TargetReport(TargetState.STILL, moving_cm=0x51, moving_energy=0, still_cm=0, still_energy=0x3B,
                             detection_cm=0)


def test_ld2410_moving_and_still_target():
    (r,) = Ld2410Framer().feed(LD_BOTH)
    assert (r.state, r.moving_cm, r.moving_energy, r.still_energy) == (TargetState.BOTH, 70, 52, 60)


def test_ld2410_engineering_frame_gates_light_and_out_pin():
    (r,) = Ld2410Framer().feed(LD_ENGINEERING)
    assert r.engineering and r.state is TargetState.NONE
    assert (r.moving_cm, r.still_cm, r.still_energy) == (30, 30, 13)
    assert r.gate_moving == (0x13, 0x0E, 0x07, 0x02, 0x05, 0x07, 0x03, 0x04, 0x05)
    assert r.gate_still == (0x00, 0x00, 0x0D, 0x06, 0x05, 0x05, 0x05, 0x05, 0x05)
    assert r.light == 0x62 and r.out_pin is False


def test_ld2410_encode_reproduces_the_documented_frames():
    framer = Ld2410Framer()
    for frame in (LD_BASIC_DOC, LD_BOTH, LD_ENGINEERING):
        (r,) = framer.feed(frame)
        assert encode(r) == frame


def test_ld2410_acks_skipped_and_frames_split_anywhere():
    stream = LD_ACK + LD_BASIC_DOC + LD_BOTH
    for cut in range(1, len(stream)):
        framer = Ld2410Framer()
        out = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert [r.state for r in out] == [TargetState.STILL, TargetState.BOTH]
        assert framer.counters["acks"] == 1


def test_ld2410_resynchronises_after_garbage_and_a_false_header():
    framer = Ld2410Framer()
    junk = b"\x00\xf4\xf3\xf2\xf1\xff\xff" + LD_BASIC_DOC[:9]  # a header with a silly length, a cut frame
    out = framer.feed(junk + LD_BOTH)
    assert [r.state for r in out] == [TargetState.BOTH]
    assert framer.counters["bad_length"] + framer.counters["bad_trailer"] >= 2
    assert framer.counters["skipped_bytes"] > 0


def test_mr60fda2_checksum_matches_esphome_command_frames():
    assert checksum(MR_GET_PARAMETERS[:7]) == MR_GET_PARAMETERS[7]
    assert checksum(MR_RESET[:7]) == MR_RESET[7]
    assert encode_mr(0x0E06, b"") == MR_GET_PARAMETERS
    (r,) = Mr60fda2Framer().feed(MR_GET_PARAMETERS)
    assert r == OtherFrame(0x0E06, b"")


def test_mr60fda2_fall_and_people_frames():
    fallen = fall(True)
    # SOF 01, id 0000, len 0001, type 0E02, ~(01^01^0E^02) = F3, data 01, ~01 = FE
    assert fallen == bytes.fromhex("01 0000 0001 0E02 F3 01 FE")
    assert people(False) == bytes.fromhex("01 0000 0001 0F09 F9 00 FF")
    framer = Mr60fda2Framer()
    assert framer.feed(fallen + people(True) + fall(False)) == [
        FallReport(True), PeopleReport(True), FallReport(False)]
    assert encode_mr(FALL, b"\x01", 7)[1:3] == b"\x00\x07" and encode_mr(PEOPLE, b"\x01")[5:7] == b"\x0f\x09"


def test_mr60fda2_bad_checksums_are_counted_and_the_next_frame_kept():
    framer = Mr60fda2Framer()
    bad_head = bytearray(fall(True))
    bad_head[7] ^= 0xFF
    bad_data = bytearray(fall(True))
    bad_data[-1] ^= 0x01
    out = framer.feed(bytes(bad_head) + bytes(bad_data) + people(True))
    assert out == [PeopleReport(True)]
    assert framer.counters["bad_head_checksum"] >= 1 and framer.counters["bad_data_checksum"] == 1


def _decoder(model: str) -> RadarDecoder:
    return RadarDecoder(RadarSpec("radar-bath", model, "bathroom"))  # type: ignore[arg-type]


def test_ld2410_reports_become_presence_changes_not_a_flood():
    d = _decoder("ld2410")
    out = d.feed(LD_BOTH * 10, AT)
    assert out == [Presence(device="radar-bath", at=AT, room="bathroom", state=PresenceState.MOVING,
                            distance_m=0.7)]
    assert d.feed(LD_BOTH, AT.after(1)) == []  # same picture
    (still,) = d.feed(LD_BASIC_DOC, AT.after(2))
    assert still.state is PresenceState.STILL  # type: ignore[attr-defined]
    (none,) = d.feed(LD_NONE_STALE, AT.after(3))
    assert none.state is PresenceState.NONE and none.distance_m is None  # type: ignore[attr-defined]
    assert d.feed(LD_NONE_STALE, AT.after(3 + HEARTBEAT_S - 1)) == []
    assert len(d.feed(LD_NONE_STALE, AT.after(3 + HEARTBEAT_S))) == 1  # heartbeat: the radar is alive


def test_mr60fda2_fall_is_emitted_on_each_change_of_state():
    d = _decoder("mr60fda2")
    out = d.feed(people(True) + fall(True) + fall(True), AT)
    assert out == [Presence(device="radar-bath", at=AT, room="bathroom", state=PresenceState.PRESENT),
                   Fall(device="radar-bath", at=AT, room="bathroom", fallen=True)]
    assert d.feed(fall(False), AT.after(5)) == [Fall(device="radar-bath", at=AT.after(5), room="bathroom",
                                                     fallen=False)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=20), st.sampled_from(["ld2410", "mr60fda2"]))
def test_random_bytes_never_crash_and_a_real_frame_after_them_is_read(chunks: list[bytes], model: str) -> None:
    d = _decoder(model)
    for chunk in chunks:
        d.feed(chunk, AT)
    frame = LD_BOTH if model == "ld2410" else fall(True)
    # Garbage may end in a partial header that swallows the frame's first bytes; one more
    # copy of the frame must then be read (what a radar that repeats its reports gives).
    # A false header may claim up to 256 data bytes (MR60FDA2) before its data checksum fails.
    out = d.feed(frame * (4 if model == "ld2410" else 30), AT.after(HEARTBEAT_S * 2))
    if model == "ld2410":
        assert any(isinstance(o, Presence) and o.state is PresenceState.MOVING for o in out)
    else:
        assert any(isinstance(o, Fall) and o.fallen for o in out)
    assert len(d._framer._buf) < 4096


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_is_counted(junk: bytes) -> None:
    for framer in (Ld2410Framer(), Mr60fda2Framer()):
        framer.feed(junk)
        framer.feed(b"\x00" * 700)  # flush whatever partial frame the junk ended in
        assert framer.counters["frames"] + framer.counters["skipped_bytes"] > 0 or not junk
