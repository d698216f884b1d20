"""Golden vectors for the SIG health profiles (GATT Specification Supplement layouts, docs/wearables.md)."""

from __future__ import annotations

import calendar
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.events import DeviceStatus, Stamp, VitalSign
from drivers.ble.profiles import health_codecs as hc
from drivers.ble.profiles import ieee11073 as f
from drivers.ble.profiles.health import SERVICES, HealthDecoder, measured_at
from drivers.ble.profiles.sig import BATTERY_LEVEL, HEART_RATE_MEASUREMENT

XMAS = bytes.fromhex("e7070c190e1e2d")  # 2023-12-25 14:30:45
XMAS_LOCAL = float(calendar.timegm((2023, 12, 25, 14, 30, 45)))
NOW = Stamp(1000.0, XMAS_LOCAL + 3600.0)  # the hub, synced, an hour after the measurement


# IEEE 11073-20601 examples (HL7 Personal Health Devices IG, "MDER FLOATs and SFLOATs").
@pytest.mark.parametrize(("raw", "value"), [
    (0x0002, 2), (0xF014, 2.0), (0xE0C8, 2.0), (0x1002, 20), (0x2002, 200), (0x00C8, 200),
    (0x04D2, 1234), (0x0B2E, -1234), (0xF16C, 36.4), (0xFFFF, -0.1),
])
def test_sfloat_golden(raw, value):
    assert f.sfloat(raw) == value


@pytest.mark.parametrize(("raw", "value"), [
    (0x00000002, 2), (0xFF000014, 2.0), (0xFE0000C8, 2.0), (0x01000002, 20), (0x02000002, 200),
    (0x000004D2, 1234), (0x00FFFB2E, -1234), (0xFF00016C, 36.4),
])
def test_float_golden(raw, value):
    assert f.float32(raw) == value


@pytest.mark.parametrize(("raw", "special"), [
    (0x07FF, f.Special.NAN), (0x0800, f.Special.NRES), (0x07FE, f.Special.POSITIVE_INFINITY),
    (0x0802, f.Special.NEGATIVE_INFINITY), (0x0801, f.Special.RESERVED),
])
def test_sfloat_special_values(raw, special):
    assert f.sfloat(raw) is special
    assert f.finite(f.sfloat(raw)) is None


@pytest.mark.parametrize(("raw", "special"), [
    (0x007FFFFF, f.Special.NAN), (0x00800000, f.Special.NRES), (0x007FFFFE, f.Special.POSITIVE_INFINITY),
    (0x00800002, f.Special.NEGATIVE_INFINITY), (0x00800001, f.Special.RESERVED),
])
def test_float_special_values(raw, special):
    assert f.float32(raw) is special


def test_special_mantissa_with_an_exponent_is_a_number():
    assert f.sfloat(0xF7FF) == 204.7  # 2047 * 10**-1: only exponent 0 carries the special values


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_round_trip(mantissa, exponent):
    value = mantissa * 10.0**exponent
    assert math.isclose(f.sfloat(f.encode_sfloat(value, exponent)), value, rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(-(2**23) + 3, 2**23 - 3), st.integers(-10, 10))
def test_float_round_trip(mantissa, exponent):
    value = mantissa * 10.0**exponent
    assert math.isclose(f.float32(f.encode_float(value, exponent)), value, rel_tol=1e-9, abs_tol=1e-12)


def test_date_time():
    assert f.date_time(struct.unpack("<HBBBBB", XMAS)) == XMAS_LOCAL
    assert f.encode_date_time(XMAS_LOCAL) == XMAS
    assert f.date_time((0, 12, 25, 14, 30, 45)) is None  # year not known
    with pytest.raises(f.MalformedMeasurement):
        f.date_time((2023, 2, 30, 0, 0, 0))
    with pytest.raises(f.MalformedMeasurement):
        f.date_time((2023, 13, 1, 0, 0, 0))


# --- Pulse Oximeter 0x1822 -------------------------------------------------------------------

def test_plx_spot_check_minimal():
    assert hc.plx_spot_check(bytes.fromhex("00 6100 4800")) == hc.PulseOximetry(97, 72)


def test_plx_spot_check_all_fields():
    data = (bytes([0x1F]) + struct.pack("<HH", f.encode_sfloat(95.5, -1), 60) + XMAS
            + struct.pack("<H", 0x0080) + bytes([0x00, 0x08, 0x00]) + struct.pack("<H", f.encode_sfloat(3.2, -1)))
    m = hc.plx_spot_check(data)
    assert (m.spo2_pct, m.pulse_rate_bpm, m.device_time, m.clock_not_set) == (95.5, 60, XMAS_LOCAL, True)
    assert m.status == ("validated", "sensor_unconnected")


def test_plx_continuous_reads_past_fast_and_slow():
    data = (bytes([0x1F]) + struct.pack("<HHHHHH", 98, 70, 97, 71, 96, 69)
            + struct.pack("<H", 1 << 14) + bytes([0x20, 0, 0]) + struct.pack("<H", f.SFLOAT_NAN))
    m = hc.plx_continuous(data)
    assert (m.spo2_pct, m.pulse_rate_bpm) == (98, 70)
    assert m.status == ("questionable", "low_perfusion")
    assert m.specials == (f.Special.NAN,)


def test_plx_nan_spo2_is_none_and_counted():
    d = HealthDecoder("oxi", ["pulse_oximeter"])
    (v,) = d.decode(hc.PLX_CONTINUOUS, bytes([0]) + struct.pack("<HH", f.SFLOAT_NAN, 72), NOW)
    assert isinstance(v, VitalSign) and v.spo2_pct is None and v.pulse_rate_bpm == 72
    assert d.counters["special.nan"] == 1


# --- Health Thermometer 0x1809 ---------------------------------------------------------------

def test_temperature_celsius():
    assert hc.temperature(bytes.fromhex("00 6c0100ff")) == hc.Temperature(36.4)


def test_temperature_fahrenheit_with_time_and_type():
    m = hc.temperature(bytes.fromhex("07 da0300ff") + XMAS + b"\x06")
    assert m == hc.Temperature(37.0, "mouth", XMAS_LOCAL)


def test_temperature_reserved_type_is_malformed():
    with pytest.raises(f.MalformedMeasurement):
        hc.temperature(bytes.fromhex("04 6c0100ff 00"))


def test_temperature_trailing_bytes_are_malformed():
    with pytest.raises(f.MalformedMeasurement):
        hc.temperature(bytes.fromhex("00 6c0100ff 01"))


# --- Blood Pressure 0x1810 -------------------------------------------------------------------

def test_blood_pressure_mmhg_all_fields():
    data = bytes([0x1E]) + struct.pack("<HHH", 120, 80, 93) + XMAS + struct.pack("<HBH", 72, 1, 0b001_0_0110)
    m = hc.blood_pressure(data)
    assert (m.systolic_mmhg, m.diastolic_mmhg, m.mean_arterial_mmhg) == (120, 80, 93)
    assert (m.pulse_rate_bpm, m.user_id, m.device_time) == (72, 1, XMAS_LOCAL)
    assert m.status == ("cuff_loose", "irregular_pulse", "improper_position")


def test_blood_pressure_kpa_and_pulse_range():
    data = bytes([0x19]) + struct.pack("<HHH", 0xF0A0, 0xF06B, 0xF07C) + b"\xff" + struct.pack("<H", 0b10 << 3)
    m = hc.blood_pressure(data)
    assert (m.systolic_mmhg, m.diastolic_mmhg, m.mean_arterial_mmhg) == (120.0, 80.3, 93.0)
    assert m.user_id is None  # 0xFF: unknown user
    assert m.status == ("pulse_below_range",)


def test_blood_pressure_short_is_malformed():
    with pytest.raises(f.MalformedMeasurement):
        hc.blood_pressure(bytes([0x02]) + struct.pack("<HHH", 120, 80, 93) + XMAS[:3])


# --- Weight Scale 0x181D ---------------------------------------------------------------------

def test_weight_si_all_fields():
    m = hc.weight(bytes.fromhex("0e b036") + XMAS + bytes.fromhex("03 f500 d606"))
    assert m == hc.Weight(70.0, 3, 24.5, 1.75, XMAS_LOCAL)


def test_weight_imperial():
    m = hc.weight(bytes.fromhex("09 543d f500 a802"))
    assert m == hc.Weight(71.214, None, 24.5, 1.727)  # 157.00 lb, 68.0 in


def test_weight_unsuccessful_is_counted():
    d = HealthDecoder("scale", ["weight_scale"])
    assert d.decode(hc.WEIGHT_MEASUREMENT, bytes.fromhex("00 ffff"), NOW) == []
    assert d.counters["weight_unsuccessful"] == 1


# --- The decoder: observations, stored measurements and device clocks -----------------------

def test_stored_measurement_gets_its_own_time():
    d = HealthDecoder("cuff", ["blood_pressure"])
    (v,) = d.decode(hc.BLOOD_PRESSURE_MEASUREMENT, bytes([0x02]) + struct.pack("<HHH", 135, 85, 100) + XMAS, NOW)
    assert isinstance(v, VitalSign) and v.systolic_mmhg == 135 and not v.clock_suspect
    assert v.at == Stamp(NOW.t - 3600.0, XMAS_LOCAL, True) and v.device_time == XMAS_LOCAL
    assert d.counters["stored_measurements"] == 1


@pytest.mark.parametrize(("device_time", "hub", "suspect"), [
    (float(calendar.timegm((2019, 12, 31, 23, 0, 0))), NOW, True),  # a clock never set
    (NOW.local + 3600.0, NOW, True),  # an hour ahead of the hub
    (NOW.local + 60.0, NOW, False),  # a minute ahead: clocks set by hand
    (XMAS_LOCAL, Stamp(5.0, 86400.0, synced=False), False),  # the hub does not know the time yet
])
def test_device_clock_checks(device_time, hub, suspect):
    stamp, flagged = measured_at(device_time, hub)
    assert flagged is suspect
    if suspect or not hub.synced:
        assert stamp == hub  # kept at its arrival


def test_suspect_clock_is_flagged_and_kept_at_arrival():
    d = HealthDecoder("thermo", ["thermometer"])
    (v,) = d.decode(hc.TEMPERATURE_MEASUREMENT, bytes.fromhex("02 6c0100ff") + bytes.fromhex("d0070101000000"), NOW)
    assert isinstance(v, VitalSign) and v.clock_suspect and v.at == NOW and v.body_temp_c == 36.4
    assert d.counters["clock_suspect"] == 1


def test_oximeter_clock_not_set_flag_is_suspect():
    d = HealthDecoder("oxi", ["pulse_oximeter"])
    (v,) = d.decode(hc.PLX_SPOT_CHECK, bytes([0x11]) + struct.pack("<HH", 96, 70) + XMAS, NOW)
    assert isinstance(v, VitalSign) and v.clock_suspect and v.at == NOW


def test_oximeter_sensor_off_body_is_no_contact():
    d = HealthDecoder("oxi", ["pulse_oximeter"])
    data = bytes([0x08]) + struct.pack("<HH", 99, 80) + bytes([0x00, 0x80, 0x00])
    (v,) = d.decode(hc.PLX_CONTINUOUS, data, NOW)
    assert isinstance(v, VitalSign) and v.skin_contact is False and v.quality == ("sensor_disconnected",)


def test_heart_rate_complete_through_the_health_decoder():
    d = HealthDecoder("watch", ["heart_rate"])
    out = d.decode(HEART_RATE_MEASUREMENT, bytes([0x1E, 55]) + struct.pack("<HHH", 321, 1100, 1090), NOW)
    assert out == [VitalSign(device="watch", at=NOW, heart_rate_bpm=55.0, skin_contact=True, energy_kj=321.0,
                             rr_intervals_s=(1100 / 1024, 1090 / 1024)),
                   DeviceStatus(device="watch", at=NOW, worn=True)]


def test_notify_uuids_follow_the_services():
    d = HealthDecoder("cuff", ["blood_pressure", "weight_scale"])
    assert d.notify_uuids() == (hc.BLOOD_PRESSURE_MEASUREMENT, hc.WEIGHT_MEASUREMENT, BATTERY_LEVEL)
    with pytest.raises(ValueError):
        HealthDecoder("x", ["glucose"])


CODECS = [hc.plx_spot_check, hc.plx_continuous, hc.temperature, hc.blood_pressure, hc.weight]


@given(st.binary(max_size=40))
def test_any_bytes_decode_or_raise_the_typed_error(data):
    for codec in CODECS:
        try:
            codec(data)
        except f.MalformedMeasurement:
            pass


@given(st.binary(max_size=40), st.sampled_from(
    [*(u for uuids in SERVICES.values() for u in uuids), BATTERY_LEVEL, "nonsense"]))
def test_any_bytes_never_crash_the_decoder(data, uuid):
    d = HealthDecoder("all", list(SERVICES))
    for obs in d.decode(uuid, data, NOW):
        assert obs.device == "all"
    assert sum(d.counters[k] for k in ("malformed", "unknown_characteristic")) <= 1


# --- encoders (the emulator's) round-trip through the decoders ---------------------------------

@given(st.integers(70, 100), st.integers(30, 200), st.booleans())
def test_plx_encoders_round_trip(spo2, pulse, stamped):
    when = XMAS_LOCAL if stamped else None
    assert hc.plx_spot_check(hc.encode_plx_spot_check(spo2, pulse, when)) == hc.PulseOximetry(spo2, pulse, when)
    assert hc.plx_continuous(hc.encode_plx_continuous(spo2, pulse, 1 << 14)).status == ("questionable",)


@given(st.integers(3000, 4300), st.sampled_from([None, *hc.TEMPERATURE_TYPES.values()]))
def test_temperature_encoder_round_trip(centi, site):
    assert hc.temperature(hc.encode_temperature(centi / 100, XMAS_LOCAL, site)) == hc.Temperature(
        centi / 100, site, XMAS_LOCAL)


@given(st.integers(70, 250), st.integers(40, 140), st.integers(30, 200), st.integers(0, 254))
def test_blood_pressure_encoder_round_trip(sys_, dia, pulse, user):
    m = hc.blood_pressure(hc.encode_blood_pressure(sys_, dia, XMAS_LOCAL, pulse, user))
    assert (m.systolic_mmhg, m.diastolic_mmhg, m.pulse_rate_bpm, m.user_id, m.device_time) == (
        sys_, dia, pulse, user, XMAS_LOCAL)


@given(st.integers(4000, 30000))
def test_weight_encoder_round_trip(grams_5):
    kg = grams_5 * 0.005
    assert hc.weight(hc.encode_weight(kg, XMAS_LOCAL, 1)) == hc.Weight(round(kg, 3), 1, None, None, XMAS_LOCAL)
