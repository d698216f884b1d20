"""The number and time formats of the Bluetooth SIG health profiles.

SFLOAT (16 bits: 4-bit signed exponent, 12-bit signed mantissa) and FLOAT
(32 bits: 8-bit signed exponent, 24-bit signed mantissa) are IEEE 11073-20601's
medical floats, value = mantissa * 10**exponent, little-endian on the air. A few
mantissas (with exponent 0) are not numbers but say why there is no number: NaN
(the device has none), NRes (not at this resolution), +/-INFINITY (beyond the
sensor's range) and a reserved value. Date Time is the GATT Specification
Supplement's 7-byte local calendar time (year 0, month 0 or day 0: not known).

A measurement whose bytes do not fit its format raises ``MalformedMeasurement``,
which the profile decoders count and never let out.
"""

from __future__ import annotations

import calendar
import struct
import time
from enum import StrEnum


class MalformedMeasurement(ValueError):
    """Bytes that are not a measurement of the announced format."""


class Special(StrEnum):
    NAN = "nan"
    NRES = "nres"
    POSITIVE_INFINITY = "+inf"
    NEGATIVE_INFINITY = "-inf"
    RESERVED = "reserved"


_SFLOAT_SPECIAL = {0x07FF: Special.NAN, 0x0800: Special.NRES, 0x07FE: Special.POSITIVE_INFINITY,
                   0x0802: Special.NEGATIVE_INFINITY, 0x0801: Special.RESERVED}
_FLOAT_SPECIAL = {0x7FFFFF: Special.NAN, 0x800000: Special.NRES, 0x7FFFFE: Special.POSITIVE_INFINITY,
                  0x800002: Special.NEGATIVE_INFINITY, 0x800001: Special.RESERVED}
SFLOAT_NAN = 0x07FF
FLOAT_NAN = 0x007FFFFF


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def sfloat(raw: int) -> float | Special:
    """The value of a 16-bit SFLOAT (as the uint16 read from the air)."""
    mantissa, exponent = raw & 0x0FFF, _signed(raw >> 12, 4)
    if exponent == 0 and mantissa in _SFLOAT_SPECIAL:
        return _SFLOAT_SPECIAL[mantissa]
    # round() drops binary noise (36.6 rather than 36.600000000000001), keeping the mantissa's digits.
    return round(_signed(mantissa, 12) * 10.0**exponent, max(0, -exponent))


def float32(raw: int) -> float | Special:
    """The value of a 32-bit FLOAT (as the uint32 read from the air)."""
    mantissa, exponent = raw & 0xFFFFFF, _signed(raw >> 24, 8)
    if exponent == 0 and mantissa in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[mantissa]
    return round(_signed(mantissa, 24) * 10.0**exponent, max(0, -exponent))


def encode_sfloat(value: float, exponent: int = 0) -> int:
    """``value`` as an SFLOAT with ``exponent`` (the emulators and tests write measurements with it)."""
    mantissa = round(value / 10.0**exponent)
    if not -2045 <= mantissa <= 2045 or not -8 <= exponent <= 7:
        raise ValueError(f"{value} does not fit an SFLOAT with exponent {exponent}")
    return ((exponent & 0x0F) << 12) | (mantissa & 0x0FFF)


def encode_float(value: float, exponent: int = 0) -> int:
    mantissa = round(value / 10.0**exponent)
    if not -(2**23) + 3 <= mantissa <= 2**23 - 3 or not -128 <= exponent <= 127:
        raise ValueError(f"{value} does not fit a FLOAT with exponent {exponent}")
    return ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)


def finite(value: float | Special) -> float | None:
    """A number, or None for every special value (no reading is better than a made-up one)."""
    return None if isinstance(value, Special) else value


class Reader:
    """Reads a measurement's fields in order; a field the bytes do not hold is malformed."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self.what = what

    def take(self, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize("<" + fmt)
        if self._pos + size > len(self._data):
            raise MalformedMeasurement(f"{self.what}: shorter than its flags announce")
        out = struct.unpack_from("<" + fmt, self._data, self._pos)
        self._pos += size
        return out

    def u8(self) -> int:
        return self.take("B")[0]

    def u16(self) -> int:
        return self.take("H")[0]

    def u24(self) -> int:
        low, high = self.take("HB")
        return low | (high << 16)

    def sfloat(self) -> float | Special:
        return sfloat(self.u16())

    def float32(self) -> float | Special:
        return float32(self.take("I")[0])

    def date_time(self) -> float | None:
        return date_time(self.take("HBBBBB"), self.what)

    def rest(self) -> bytes:
        out = self._data[self._pos:]
        self._pos = len(self._data)
        return out

    def end(self) -> None:
        """Bytes beyond the announced fields: a format we do not know, so not trusted."""
        if self._pos != len(self._data):
            raise MalformedMeasurement(f"{self.what}: {len(self._data) - self._pos} bytes beyond its fields")


def date_time(fields: tuple[int, ...], what: str = "date time") -> float | None:
    """Seconds since the epoch of a Date Time *as if local time were UTC* (the hub's ``local``), None if unknown."""
    year, month, day, hours, minutes, seconds = fields
    if year == 0 or month == 0 or day == 0:
        return None
    if not 1582 <= year <= 9999 or month > 12 or hours > 23 or minutes > 59 or seconds > 59:
        raise MalformedMeasurement(f"{what}: time stamp out of range")
    if day > calendar.monthrange(year, month)[1]:
        raise MalformedMeasurement(f"{what}: time stamp out of range")
    return float(calendar.timegm((year, month, day, hours, minutes, seconds)))


def encode_date_time(local: float) -> bytes:
    tm = time.gmtime(local)
    return struct.pack("<HBBBBB", tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
