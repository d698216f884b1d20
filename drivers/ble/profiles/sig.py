"""Bluetooth SIG Heart Rate (0x180D / 0x2A37) and Battery (0x180F / 0x2A19) services.

Any standard chest strap or watch gives heart rate, RR intervals, sensor contact
(read as "worn") and battery level. Flags (Heart Rate Service 1.0, 3.1.1.1):
bit 0 uint16 value, bits 1-2 sensor contact (bit 2 supported, bit 1 detected),
bit 3 energy expended (uint16 kJ), bit 4 RR intervals (uint16, 1/1024 s).
"""

from __future__ import annotations

import struct
from collections import Counter

from detection.events import DeviceStatus, Observation, Stamp, VitalSign
from drivers.ble.profiles import uuid16
from drivers.ble.profiles.ieee11073 import MalformedMeasurement

HEART_RATE_SERVICE = uuid16(0x180D)
HEART_RATE_MEASUREMENT = uuid16(0x2A37)
BATTERY_SERVICE = uuid16(0x180F)
BATTERY_LEVEL = uuid16(0x2A19)
LOW_BATTERY_PCT = 15


def decode_heart_rate(data: bytes) -> tuple[int, bool | None, int | None, tuple[float, ...]]:
    """(bpm, skin contact or None if not supported, energy expended kJ or None, RR intervals in s)."""
    if len(data) < 2:
        raise MalformedMeasurement("heart rate: shorter than 2 bytes")
    flags = data[0]
    pos = 1
    if flags & 0x01:
        if len(data) < 3:
            raise MalformedMeasurement("heart rate: uint16 value announced but missing")
        (bpm,) = struct.unpack_from("<H", data, pos)
        pos += 2
    else:
        bpm = data[pos]
        pos += 1
    contact = bool(flags & 0x02) if flags & 0x04 else None
    energy = None
    if flags & 0x08:
        if len(data) < pos + 2:
            raise MalformedMeasurement("heart rate: energy expended announced but missing")
        (energy,) = struct.unpack_from("<H", data, pos)
        pos += 2
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        raw = data[pos:]
        if len(raw) % 2:
            raise MalformedMeasurement("heart rate: RR intervals are not whole uint16 values")
        rr = tuple(v / 1024.0 for (v,) in struct.iter_unpack("<H", raw))
    return bpm, contact, energy, rr


class HeartRateDecoder:
    """Heart Rate + Battery: the ``heart_rate`` profile."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.counters: Counter[str] = Counter()
        self._worn: bool | None = None

    def notify_uuids(self) -> tuple[str, ...]:
        return (HEART_RATE_MEASUREMENT, BATTERY_LEVEL)

    def decode(self, char_uuid: str, data: bytes, at: Stamp) -> list[Observation]:
        try:
            if char_uuid == HEART_RATE_MEASUREMENT:
                out, self._worn = heart_rate_observations(self.device, data, at, self._worn)
                return out
            if char_uuid == BATTERY_LEVEL:
                return [battery(self.device, data, at)]
        except ValueError:
            self.counters["malformed"] += 1
            return []
        self.counters["unknown_characteristic"] += 1
        return []


def heart_rate_observations(
    device: str, data: bytes, at: Stamp, worn: bool | None
) -> tuple[list[Observation], bool | None]:
    """The reading, and "worn" as a status when the contact report changes from ``worn``; (them, new worn)."""
    bpm, contact, energy, rr = decode_heart_rate(data)
    out: list[Observation] = [VitalSign(device=device, at=at, heart_rate_bpm=float(bpm) if bpm else None,
                                        rr_intervals_s=rr, skin_contact=contact,
                                        energy_kj=None if energy is None else float(energy))]
    if contact is not None and contact != worn:
        worn = contact
        out.append(DeviceStatus(device=device, at=at, worn=contact))
    return out, worn


def battery(device: str, data: bytes, at: Stamp) -> DeviceStatus:
    if len(data) != 1 or data[0] > 100:
        raise ValueError("battery level must be one byte, 0-100")
    return DeviceStatus(device=device, at=at, battery_pct=float(data[0]), battery_low=data[0] <= LOW_BATTERY_PCT)
