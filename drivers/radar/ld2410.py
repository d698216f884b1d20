"""Hi-Link HLK-LD2410 (24 GHz presence radar) serial frames -> target reports. Pure.

The radar (256000 baud, 8N1) reports about ten times a second in "data frames"::

    F4 F3 F2 F1 | len (LE16) | type | AA | target data | 55 | 00 | F8 F7 F6 F5

``type`` is 0x02 for a basic report (len 13) and 0x01 for an engineering report
(len 35: the basic fields plus the energy of each of the nine 0.75 m distance
gates, the light sensor and the OUT pin). The target data is::

    state (00 none, 01 moving, 02 still, 03 both) | moving distance cm (LE16) |
    moving energy | still distance cm (LE16) | still energy | detection distance cm (LE16)

Command acknowledgements use ``FD FC FB FA ... 04 03 02 01`` and are skipped.
Sources (docs/radar.md): Hi-Link's serial communication protocol V1.02, ESPHome's
``ld2410`` component (``handle_periodic_data_``) and Tasmota's ``xsns_102_ld2410``.

The framer never trusts a length: a candidate frame is accepted only when its
header, its length (at most ``MAX_LEN``), its 0xAA/0x55/0x00 markers and its
trailer all agree; otherwise one byte is dropped and the search starts again, so
random bytes cost a count, never a real frame that follows them.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass
from enum import IntEnum

DATA_HEAD = b"\xf4\xf3\xf2\xf1"
DATA_TAIL = b"\xf8\xf7\xf6\xf5"
ACK_HEAD = b"\xfd\xfc\xfb\xfa"
ACK_TAIL = b"\x04\x03\x02\x01"
BAUDRATE = 256000
GATES = 9
GATE_M = 0.75  # default distance resolution of one gate
BASIC, ENGINEERING = 0x02, 0x01
BASIC_LEN, ENGINEERING_LEN = 13, 35
MAX_LEN = 64  # the longest real frame is 35 bytes of data; anything longer is noise
MAX_BUFFER = 4096  # a stream without any header is dropped, not kept


class TargetState(IntEnum):
    NONE = 0
    MOVING = 1
    STILL = 2
    BOTH = 3  # a moving and a still target


@dataclass(frozen=True, slots=True)
class TargetReport:
    state: TargetState
    moving_cm: int
    moving_energy: int
    still_cm: int
    still_energy: int
    detection_cm: int
    engineering: bool = False
    gate_moving: tuple[int, ...] = ()  # engineering only: energy per gate, 0-100
    gate_still: tuple[int, ...] = ()
    light: int | None = None
    out_pin: bool | None = None


def encode(r: TargetReport) -> bytes:
    """The frame the radar sends for ``r`` (used by the emulator and the tests)."""
    body = struct.pack("<BHBHBH", int(r.state), r.moving_cm, r.moving_energy, r.still_cm, r.still_energy,
                       r.detection_cm)
    if r.engineering:
        moving = (tuple(r.gate_moving) + (0,) * GATES)[:GATES]
        still = (tuple(r.gate_still) + (0,) * GATES)[:GATES]
        body += bytes([GATES - 1, GATES - 1, *moving, *still, r.light or 0, 1 if r.out_pin else 0])
    payload = bytes([ENGINEERING if r.engineering else BASIC, 0xAA]) + body + b"\x55\x00"
    return DATA_HEAD + struct.pack("<H", len(payload)) + payload + DATA_TAIL


def _decode_payload(p: bytes) -> TargetReport | None:
    kind = p[0]
    if p[1] != 0xAA or p[-2:] != b"\x55\x00":
        return None
    if not ((kind == BASIC and len(p) == BASIC_LEN) or (kind == ENGINEERING and len(p) == ENGINEERING_LEN)):
        return None
    state, mcm, men, scm, sen, dcm = struct.unpack_from("<BHBHBH", p, 2)
    if state > 3:
        return None
    if kind == BASIC:
        return TargetReport(TargetState(state), mcm, men, scm, sen, dcm)
    gates = p[13:13 + 2 * GATES]
    return TargetReport(TargetState(state), mcm, men, scm, sen, dcm, engineering=True,
                        gate_moving=tuple(gates[:GATES]), gate_still=tuple(gates[GATES:]),
                        light=p[31], out_pin=p[32] == 1)


class Ld2410Framer:
    """Bytes in any chunking -> target reports; ``counters`` say what was dropped and why."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.counters: Counter[str] = Counter()

    def feed(self, data: bytes) -> list[TargetReport]:
        self._buf += data
        out: list[TargetReport] = []
        buf = self._buf
        while True:
            start = _first_head(buf)
            if start < 0:
                keep = 3  # a header split across reads
                if len(buf) > keep:
                    self.counters["skipped_bytes"] += len(buf) - keep
                    del buf[:len(buf) - keep]
                break
            if start:
                self.counters["skipped_bytes"] += start
                del buf[:start]
            if len(buf) < 6:
                break
            (length,) = struct.unpack_from("<H", buf, 4)
            tail = DATA_TAIL if buf[:4] == DATA_HEAD else ACK_TAIL
            if length > MAX_LEN or length < 2:
                self._reject(buf, "bad_length")
                continue
            end = 6 + length + 4
            if len(buf) < end:
                break
            if buf[end - 4:end] != tail:
                self._reject(buf, "bad_trailer")
                continue
            if tail == ACK_TAIL:
                self.counters["acks"] += 1
            else:
                report = _decode_payload(bytes(buf[6:6 + length]))
                if report is None:
                    self._reject(buf, "bad_payload")
                    continue
                self.counters["frames"] += 1
                out.append(report)
            del buf[:end]
        if len(buf) > MAX_BUFFER:  # cannot happen with MAX_LEN, but memory must stay bounded whatever
            self.counters["skipped_bytes"] += len(buf)
            buf.clear()
        return out

    def _reject(self, buf: bytearray, why: str) -> None:
        self.counters[why] += 1
        self.counters["skipped_bytes"] += 1
        del buf[:1]


def _first_head(buf: bytearray) -> int:
    a, b = buf.find(DATA_HEAD), buf.find(ACK_HEAD)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)
