"""Bluetooth SIG health measurements: bytes -> plain values (GATT Specification Supplement).

Pulse Oximeter 0x1822 (PLX Spot-Check 0x2A5E, indicated; PLX Continuous 0x2A5F,
notified), Health Thermometer 0x1809 (Temperature Measurement 0x2A1C,
indicated), Blood Pressure 0x1810 (Blood Pressure Measurement 0x2A35,
indicated) and Weight Scale 0x181D (Weight Measurement 0x2A9D, indicated).
Pure functions; every one raises ``MalformedMeasurement`` for bytes that do not
fit. Values the device marks as special (NaN, NRes, infinity) come out as None,
with the special value named in ``specials`` so that it can be counted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from drivers.ble.profiles import uuid16
from drivers.ble.profiles.ieee11073 import (
    SFLOAT_NAN,
    MalformedMeasurement,
    Reader,
    Special,
    encode_date_time,
    encode_float,
    encode_sfloat,
    finite,
)

PULSE_OXIMETER_SERVICE = uuid16(0x1822)
PLX_SPOT_CHECK = uuid16(0x2A5E)
PLX_CONTINUOUS = uuid16(0x2A5F)
HEALTH_THERMOMETER_SERVICE = uuid16(0x1809)
TEMPERATURE_MEASUREMENT = uuid16(0x2A1C)
BLOOD_PRESSURE_SERVICE = uuid16(0x1810)
BLOOD_PRESSURE_MEASUREMENT = uuid16(0x2A35)
WEIGHT_SCALE_SERVICE = uuid16(0x181D)
WEIGHT_MEASUREMENT = uuid16(0x2A9D)

KPA_TO_MMHG = 7.500617
LB_TO_KG = 0.45359237
INCH_TO_M = 0.0254
UNKNOWN_USER = 0xFF

# PLX Measurement Status (uint16; bits 0-4 reserved).
PLX_MEASUREMENT_STATUS = {
    5: "measurement_ongoing", 6: "early_estimate", 7: "validated", 8: "fully_qualified",
    9: "from_storage", 10: "demonstration", 11: "testing", 12: "calibration_ongoing",
    13: "measurement_unavailable", 14: "questionable", 15: "invalid",
}
# PLX Device and Sensor Status (uint24; bits 16-23 reserved).
PLX_DEVICE_STATUS = {
    0: "extended_display_update", 1: "equipment_malfunction", 2: "signal_processing_irregularity",
    3: "inadequate_signal", 4: "poor_signal", 5: "low_perfusion", 6: "erratic_signal",
    7: "nonpulsatile_signal", 8: "questionable_pulse", 9: "signal_analysis_ongoing",
    10: "sensor_interference", 11: "sensor_unconnected", 12: "unknown_sensor", 13: "sensor_displaced",
    14: "sensor_malfunction", 15: "sensor_disconnected",
}
PLX_NOT_ON_BODY = {"sensor_unconnected", "sensor_displaced", "sensor_disconnected"}
TEMPERATURE_TYPES = {1: "armpit", 2: "body", 3: "ear", 4: "finger", 5: "gastrointestinal",
                     6: "mouth", 7: "rectum", 8: "toe", 9: "tympanum"}
BP_STATUS = {0: "body_movement", 1: "cuff_loose", 2: "irregular_pulse", 5: "improper_position"}
BP_PULSE_RANGE = {1: "pulse_above_range", 2: "pulse_below_range"}


@dataclass(frozen=True, slots=True)
class PulseOximetry:
    spo2_pct: float | None
    pulse_rate_bpm: float | None
    device_time: float | None = None  # local seconds, spot-checks only
    clock_not_set: bool = False
    status: tuple[str, ...] = ()  # measurement, device and sensor status names
    specials: tuple[Special, ...] = ()


@dataclass(frozen=True, slots=True)
class Temperature:
    celsius: float | None
    site: str | None = None
    device_time: float | None = None
    specials: tuple[Special, ...] = ()


@dataclass(frozen=True, slots=True)
class BloodPressure:
    systolic_mmhg: float | None
    diastolic_mmhg: float | None
    mean_arterial_mmhg: float | None
    pulse_rate_bpm: float | None = None
    user_id: int | None = None
    device_time: float | None = None
    status: tuple[str, ...] = ()
    specials: tuple[Special, ...] = ()


@dataclass(frozen=True, slots=True)
class Weight:
    kg: float | None  # None: the scale says the measurement was unsuccessful
    user_id: int | None = None
    bmi: float | None = None
    height_m: float | None = None
    device_time: float | None = None


def _bits(value: int, names: dict[int, str]) -> list[str]:
    return [name for bit, name in names.items() if value & (1 << bit)]


class _Values:
    """Collects special values while turning SFLOAT/FLOAT readings into numbers or None."""

    def __init__(self) -> None:
        self.specials: list[Special] = []

    def __call__(self, value: float | Special, scale: float = 1.0) -> float | None:
        if isinstance(value, Special):
            self.specials.append(value)
        number = finite(value)
        return None if number is None else number * scale


def _user(raw: int) -> int | None:
    return None if raw == UNKNOWN_USER else raw


def plx_spot_check(data: bytes) -> PulseOximetry:
    r = Reader(data, "plx spot-check")
    flags = r.u8()
    v = _Values()
    spo2, pr = v(r.sfloat()), v(r.sfloat())
    when = r.date_time() if flags & 0x01 else None
    status = _bits(r.u16(), PLX_MEASUREMENT_STATUS) if flags & 0x02 else []
    if flags & 0x04:
        status += _bits(r.u24(), PLX_DEVICE_STATUS)
    if flags & 0x08:
        v(r.sfloat())  # pulse amplitude index: perfusion, not used yet
    r.end()
    return PulseOximetry(spo2, pr, when, bool(flags & 0x10), tuple(status), tuple(v.specials))


def plx_continuous(data: bytes) -> PulseOximetry:
    """The Normal SpO2/PR pair; the Fast and Slow pairs (other averaging times) are read past."""
    r = Reader(data, "plx continuous")
    flags = r.u8()
    v = _Values()
    spo2, pr = v(r.sfloat()), v(r.sfloat())
    for present in (0x01, 0x02):
        if flags & present:
            r.take("HH")
    status = _bits(r.u16(), PLX_MEASUREMENT_STATUS) if flags & 0x04 else []
    if flags & 0x08:
        status += _bits(r.u24(), PLX_DEVICE_STATUS)
    if flags & 0x10:
        v(r.sfloat())
    r.end()
    return PulseOximetry(spo2, pr, None, False, tuple(status), tuple(v.specials))


def temperature(data: bytes) -> Temperature:
    r = Reader(data, "temperature")
    flags = r.u8()
    v = _Values()
    value = v(r.float32())
    if value is not None and flags & 0x01:
        value = round((value - 32.0) * 5.0 / 9.0, 2)  # Fahrenheit
    when = r.date_time() if flags & 0x02 else None
    site = None
    if flags & 0x04:
        code = r.u8()
        if code not in TEMPERATURE_TYPES:
            raise MalformedMeasurement("temperature: reserved temperature type")
        site = TEMPERATURE_TYPES[code]
    r.end()
    return Temperature(value, site, when, tuple(v.specials))


def blood_pressure(data: bytes) -> BloodPressure:
    r = Reader(data, "blood pressure")
    flags = r.u8()
    v = _Values()
    scale = KPA_TO_MMHG if flags & 0x01 else 1.0
    systolic, diastolic, mean = (v(r.sfloat(), scale) for _ in range(3))
    when = r.date_time() if flags & 0x02 else None
    pulse = v(r.sfloat()) if flags & 0x04 else None
    user = _user(r.u8()) if flags & 0x08 else None
    status: list[str] = []
    if flags & 0x10:
        raw = r.u16()
        status = _bits(raw, BP_STATUS)
        pulse_range = (raw >> 3) & 0x03
        if pulse_range in BP_PULSE_RANGE:
            status.append(BP_PULSE_RANGE[pulse_range])
    # Blood Pressure Service 1.1 adds optional fields after these (flags bits 5-7); read no further.
    systolic, diastolic, mean = (None if x is None else round(x, 1) for x in (systolic, diastolic, mean))
    return BloodPressure(systolic, diastolic, mean, pulse_rate_bpm=pulse, user_id=user, device_time=when,
                         status=tuple(status), specials=tuple(v.specials))


def weight(data: bytes) -> Weight:
    r = Reader(data, "weight")
    flags = r.u8()
    imperial = bool(flags & 0x01)
    raw = r.u16()
    kg = None if raw == 0xFFFF else round(raw * 0.01 * LB_TO_KG if imperial else raw * 0.005, 3)
    when = r.date_time() if flags & 0x02 else None
    user = _user(r.u8()) if flags & 0x04 else None
    bmi = height = None
    if flags & 0x08:
        bmi = r.u16() * 0.1
        raw_height = r.u16()
        height = round(raw_height * 0.1 * INCH_TO_M if imperial else raw_height * 0.001, 3)
    r.end()
    return Weight(kg, user, None if bmi is None else round(bmi, 1), height, when)



# --- encoders: what a device sends (the emulator and the tests write measurements with them) -----------

def _sf(value: float | None, exponent: int = 0) -> bytes:
    raw = SFLOAT_NAN if value is None else encode_sfloat(value, exponent)
    return struct.pack("<H", raw)


def encode_plx_spot_check(spo2_pct: float, pulse_bpm: float, device_time: float | None = None) -> bytes:
    flags = 0x01 if device_time is not None else 0
    return bytes([flags]) + _sf(spo2_pct) + _sf(pulse_bpm) + (b"" if device_time is None
                                                              else encode_date_time(device_time))


def encode_plx_continuous(spo2_pct: float | None, pulse_bpm: float | None, status: int | None = None) -> bytes:
    flags = 0x04 if status is not None else 0
    return bytes([flags]) + _sf(spo2_pct) + _sf(pulse_bpm) + (b"" if status is None else struct.pack("<H", status))


def encode_temperature(celsius: float, device_time: float | None = None, site: str | None = None) -> bytes:
    codes = {v: k for k, v in TEMPERATURE_TYPES.items()}
    flags = (0x02 if device_time is not None else 0) | (0x04 if site is not None else 0)
    out = bytes([flags]) + struct.pack("<I", encode_float(celsius, -2))
    if device_time is not None:
        out += encode_date_time(device_time)
    return out + (bytes([codes[site]]) if site is not None else b"")


def encode_blood_pressure(systolic: float, diastolic: float, device_time: float | None = None,
                          pulse_bpm: float | None = None, user_id: int | None = None) -> bytes:
    mean = round(diastolic + (systolic - diastolic) / 3.0)
    flags = ((0x02 if device_time is not None else 0) | (0x04 if pulse_bpm is not None else 0)
             | (0x08 if user_id is not None else 0))
    out = bytes([flags]) + _sf(systolic) + _sf(diastolic) + _sf(mean)
    if device_time is not None:
        out += encode_date_time(device_time)
    if pulse_bpm is not None:
        out += _sf(pulse_bpm)
    return out + (bytes([user_id]) if user_id is not None else b"")


def encode_weight(kg: float, device_time: float | None = None, user_id: int | None = None) -> bytes:
    flags = (0x02 if device_time is not None else 0) | (0x04 if user_id is not None else 0)
    out = bytes([flags]) + struct.pack("<H", round(kg / 0.005))
    if device_time is not None:
        out += encode_date_time(device_time)
    return out + (bytes([user_id]) if user_id is not None else b"")
