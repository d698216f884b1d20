"""PineTime running InfiniTime: Motion Service (00030000-78fc-48fe-8e23-433b3a1942d0).

Raw motion values 00030002: X, Y, Z as int16 (little-endian), one sample per
notification; step count 00030001: uint32. InfiniTime sends raw values from its
BMA421 at 1024 counts per g and notifies far slower than a fall detector needs
(a few Hz), so for a PineTime the hub uses it for wear and activity, and its
fall detection is only as good as that rate allows (docs/wearables.md).
"""

from __future__ import annotations

import struct
from collections import Counter

import numpy as np

from detection.events import AccelBatch, Observation, Stamp

_BASE = "-78fc-48fe-8e23-433b3a1942d0"
MOTION_SERVICE = "00030000" + _BASE
STEP_COUNT = "00030001" + _BASE
RAW_MOTION = "00030002" + _BASE
COUNTS_PER_G = 1024.0
NOTIFY_HZ = 10.0


class PineTimeDecoder:
    def __init__(self, device: str, placement: str = "wrist") -> None:
        self.device = device
        self.placement = placement
        self.counters: Counter[str] = Counter()
        self.steps: int | None = None

    def notify_uuids(self) -> tuple[str, ...]:
        return (RAW_MOTION, STEP_COUNT)

    def decode(self, char_uuid: str, data: bytes, at: Stamp) -> list[Observation]:
        if char_uuid == RAW_MOTION:
            if len(data) != 6:
                self.counters["malformed"] += 1
                return []
            samples = np.array([struct.unpack("<hhh", data)], dtype=float) / COUNTS_PER_G
            return [AccelBatch(device=self.device, at=at, fs=NOTIFY_HZ, samples=samples, placement=self.placement)]
        if char_uuid == STEP_COUNT:
            if len(data) != 4:
                self.counters["malformed"] += 1
                return []
            (self.steps,) = struct.unpack("<I", data)
            return []
        self.counters["unknown_characteristic"] += 1
        return []
