"""Golden vectors for every wearable profile's codec."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.events import AccelBatch, ButtonAction, ButtonPress, DeviceStatus, Stamp, VitalSign
from drivers.ble.profiles import carehub, microbit, pinetime, sig

AT = Stamp(5.0, 5.0)


def test_sig_uuids():
    assert sig.HEART_RATE_MEASUREMENT == "00002a37-0000-1000-8000-00805f9b34fb"
    assert sig.BATTERY_LEVEL == "00002a19-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize(("data", "bpm", "contact", "energy", "rr"), [
    (bytes([0x00, 72]), 72, None, None, ()),
    (bytes([0x06, 65]), 65, True, None, ()),
    (bytes([0x04, 65]), 65, False, None, ()),
    (bytes([0x16, 60]) + struct.pack("<HH", 1024, 512), 60, True, None, (1.0, 0.5)),
    (bytes([0x09]) + struct.pack("<HH", 300, 12), 300, None, 12, ()),
])
def test_heart_rate_golden(data, bpm, contact, energy, rr):
    assert sig.decode_heart_rate(data) == (bpm, contact, energy, rr)


@pytest.mark.parametrize("bad", [b"", b"\x01\x10", b"\x08\x40\x01", b"\x10\x40\x01"])
def test_heart_rate_malformed_is_counted(bad):
    d = sig.HeartRateDecoder("strap")
    assert d.decode(sig.HEART_RATE_MEASUREMENT, bad, AT) == []
    assert d.counters["malformed"] == 1


def test_heart_rate_decoder_observations():
    d = sig.HeartRateDecoder("strap")
    out = d.decode(sig.HEART_RATE_MEASUREMENT, bytes([0x04, 70]), AT)
    assert out == [VitalSign(device="strap", at=AT, heart_rate_bpm=70.0, skin_contact=False),
                   DeviceStatus(device="strap", at=AT, worn=False)]
    assert d.decode(sig.HEART_RATE_MEASUREMENT, bytes([0x04, 71]), AT)[1:] == []  # not worn: said once
    assert d.decode(sig.BATTERY_LEVEL, b"\x0e", AT) == [
        DeviceStatus(device="strap", at=AT, battery_pct=14.0, battery_low=True)]
    assert d.decode(sig.BATTERY_LEVEL, b"\x65", AT) == []  # 101 %: malformed


def test_microbit_golden():
    d = microbit.MicrobitDecoder("bit", "waist")
    (batch,) = d.decode(microbit.ACCELEROMETER_DATA, struct.pack("<hhh", 12, -1000, 45), AT)
    assert isinstance(batch, AccelBatch) and batch.fs == 50.0
    np.testing.assert_allclose(batch.samples, [[0.012, -1.0, 0.045]])
    assert d.decode(microbit.BUTTON_A, b"\x01", AT) == [ButtonPress(device="bit", at=AT, action=ButtonAction.HELP)]
    assert d.decode(microbit.BUTTON_A, b"\x00", AT) == []
    assert d.decode(microbit.BUTTON_B, b"\x02", AT) == [
        ButtonPress(device="bit", at=AT, action=ButtonAction.CANCEL)]
    assert d.decode(microbit.ACCELEROMETER_DATA, b"\x00\x01", AT) == [] and d.counters["malformed"] == 1


def test_pinetime_golden():
    d = pinetime.PineTimeDecoder("watch")
    (batch,) = d.decode(pinetime.RAW_MOTION, struct.pack("<hhh", 0, 1024, -512), AT)
    np.testing.assert_allclose(batch.samples, [[0.0, 1.0, -0.5]])
    assert batch.placement == "wrist"
    assert d.decode(pinetime.STEP_COUNT, struct.pack("<I", 4321), AT) == [] and d.steps == 4321


CAREHUB_GOLDEN = bytes.fromhex("01 03 0201 8813 02 0000 0000 e803 6400 38ff d403".replace(" ", ""))


def test_carehub_accel_golden_vector():
    d = carehub.CarehubDecoder("pendant", "neck")
    batch, worn = d.decode(carehub.ACCEL_BATCH, CAREHUB_GOLDEN, AT)
    assert isinstance(batch, AccelBatch) and batch.seq == 0x0102 and batch.fs == 50.0 and batch.placement == "neck"
    np.testing.assert_allclose(batch.samples, [[0, 0, 1.0], [0.1, -0.2, 0.98]])
    assert worn == DeviceStatus(device="pendant", at=AT, worn=True)
    assert carehub.encode_accel(0x0102, 50.0, np.array([[0, 0, 1000], [100, -200, 980]]), worn=True) == CAREHUB_GOLDEN


def test_carehub_button_counter_makes_repeats_idempotent():
    d = carehub.CarehubDecoder("pendant", "neck")
    d.sync_button(carehub.encode_button(7))
    assert d.decode(carehub.BUTTON, carehub.encode_button(7), AT) == []  # already handled before we connected
    (press,) = d.decode(carehub.BUTTON, carehub.encode_button(8), AT)
    assert press == ButtonPress(device="pendant", at=AT, action=ButtonAction.HELP)
    assert d.decode(carehub.BUTTON, carehub.encode_button(8), AT) == []
    (cancel,) = d.decode(carehub.BUTTON, carehub.encode_button(9, ButtonAction.CANCEL), AT)
    assert cancel.action is ButtonAction.CANCEL
    assert bytes.fromhex("010900" + "01") == carehub.encode_button(9)


@pytest.mark.parametrize("bad", [b"", b"\x02" + CAREHUB_GOLDEN[1:], CAREHUB_GOLDEN[:-1],
                                 CAREHUB_GOLDEN[:4] + b"\x00\x00" + CAREHUB_GOLDEN[6:]])
def test_carehub_malformed_is_counted(bad):
    d = carehub.CarehubDecoder("p", "waist")
    assert d.decode(carehub.ACCEL_BATCH, bad, AT) == []
    assert d.counters["malformed"] == 1


@given(st.binary(max_size=300))
def test_carehub_any_bytes_never_raise(data):
    d = carehub.CarehubDecoder("p", "waist")
    for uuid in (carehub.ACCEL_BATCH, carehub.BUTTON, sig.BATTERY_LEVEL, "nonsense"):
        d.decode(uuid, data, AT)


@given(st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=40),
       st.integers(0, 65535), st.sampled_from([25.0, 50.0, 100.0]))
def test_carehub_round_trip(samples, seq, rate):
    d = carehub.CarehubDecoder("p", "waist")
    (batch,) = d.decode(carehub.ACCEL_BATCH, carehub.encode_accel(seq, rate, np.array(samples)), AT)
    assert batch.seq == seq and batch.fs == rate
    np.testing.assert_allclose(batch.samples * 1000, samples)
