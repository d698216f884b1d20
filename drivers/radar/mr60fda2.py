"""Seeed MR60FDA2 (60 GHz fall-detection radar) serial frames -> reports. Pure.

The radar (115200 baud, 8N1) speaks Seeed's "tiny frame" format, big-endian::

    SOF 01 | ID (2) | LEN (2) | TYPE (2) | HEAD_CKSUM | DATA (LEN) | DATA_CKSUM

and each checksum is the inverted XOR of the bytes it covers: ``HEAD_CKSUM`` the
seven bytes before it, ``DATA_CKSUM`` the data. Frame types used here: 0x0E02 fall
(data[0]: 1 fallen, 0 not), 0x0F09 people present (data[0]: 1 someone, 0 nobody).
Sources (docs/radar.md): Seeed's MR60FDA2 user manual and protocol, ESPHome's
``seeed_mr60fda2`` component (``split_frame_``, ``calculate_checksum`` and its
command frames, e.g. "get parameters" ``01 00 00 00 00 0E 06 F6``) and Seeed's
Arduino library ``Seeed_Arduino_mmWave`` (``TypeFallDetection``).

A candidate frame must pass the header checksum before its length is believed;
when anything fails, one byte is dropped and the search restarts, so garbage
costs a count and no real frame behind it is lost.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass

SOF = 0x01
BAUDRATE = 115200
HEADER_LEN = 8  # SOF, ID, LEN, TYPE, HEAD_CKSUM
MAX_DATA = 256  # real reports carry a few bytes; point-cloud reports a few dozen
MAX_BUFFER = 4096
FALL = 0x0E02
PEOPLE = 0x0F09


@dataclass(frozen=True, slots=True)
class FallReport:
    fallen: bool


@dataclass(frozen=True, slots=True)
class PeopleReport:
    present: bool


@dataclass(frozen=True, slots=True)
class OtherFrame:
    """A valid frame of a type we do not use (parameters, heights, point clouds)."""

    type: int
    data: bytes


Report = FallReport | PeopleReport | OtherFrame


def checksum(data: bytes | bytearray) -> int:
    x = 0
    for b in data:
        x ^= b
    return ~x & 0xFF


def encode(frame_type: int, data: bytes, frame_id: int = 0) -> bytes:
    """A frame as the radar sends it (used by the emulator and the tests)."""
    head = struct.pack(">BHHH", SOF, frame_id & 0xFFFF, len(data), frame_type)
    return head + bytes([checksum(head)]) + data + (bytes([checksum(data)]) if data else b"")


def fall(fallen: bool, frame_id: int = 0) -> bytes:
    return encode(FALL, bytes([1 if fallen else 0]), frame_id)


def people(present: bool, frame_id: int = 0) -> bytes:
    return encode(PEOPLE, bytes([1 if present else 0]), frame_id)


def _report(frame_type: int, data: bytes) -> Report:
    if frame_type == FALL and len(data) >= 1:
        return FallReport(data[0] == 1)
    if frame_type == PEOPLE and len(data) >= 1:
        return PeopleReport(data[0] == 1)
    return OtherFrame(frame_type, data)


class Mr60fda2Framer:
    """Bytes in any chunking -> reports; ``counters`` say what was dropped and why."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.counters: Counter[str] = Counter()

    def feed(self, data: bytes) -> list[Report]:
        self._buf += data
        out: list[Report] = []
        buf = self._buf
        while True:
            start = buf.find(SOF)
            if start < 0:
                self.counters["skipped_bytes"] += len(buf)
                buf.clear()
                break
            if start:
                self.counters["skipped_bytes"] += start
                del buf[:start]
            if len(buf) < HEADER_LEN:
                break
            if checksum(buf[:7]) != buf[7]:
                self._reject(buf, "bad_head_checksum")
                continue
            _, _, length, frame_type = struct.unpack_from(">BHHH", buf)
            if length > MAX_DATA:
                self._reject(buf, "bad_length")
                continue
            end = HEADER_LEN + length + (1 if length else 0)
            if len(buf) < end:
                break
            payload = bytes(buf[HEADER_LEN:HEADER_LEN + length])
            if length and checksum(payload) != buf[end - 1]:
                self._reject(buf, "bad_data_checksum")
                continue
            del buf[:end]
            self.counters["frames"] += 1
            report = _report(frame_type, payload)
            if isinstance(report, OtherFrame):
                self.counters["other_frames"] += 1
            out.append(report)
        if len(buf) > MAX_BUFFER:
            self.counters["skipped_bytes"] += len(buf)
            buf.clear()
        return out

    def _reject(self, buf: bytearray, why: str) -> None:
        self.counters[why] += 1
        self.counters["skipped_bytes"] += 1
        del buf[:1]
