"""carehub's own open wearable profile (specified in docs/profiles/carehub-wearable.md).

Accelerometer batches with a sequence number and their sample rate, so gaps
and rate are known; a help-button characteristic with a press counter, so a
notification delivered twice (after a reconnect) is one press; battery through
the SIG Battery service.
"""

from __future__ import annotations

import struct
from collections import Counter

import numpy as np

from detection.events import AccelBatch, ButtonAction, ButtonPress, DeviceStatus, Observation, Stamp
from drivers.ble.profiles.sig import BATTERY_LEVEL, battery

_BASE = "-8b5a-4c3e-9b1f-2f6c1d0a9e01"
SERVICE = "6f3e0001" + _BASE
ACCEL_BATCH = "6f3e0002" + _BASE
BUTTON = "6f3e0003" + _BASE
VERSION = 1
ACCEL_HEADER = struct.Struct("<BBHHB")  # version, flags, seq, rate (centi-Hz), n samples
BUTTON_FORMAT = struct.Struct("<BHB")  # version, press counter, action
FLAG_WORN_VALID = 0x01
FLAG_WORN = 0x02
MAX_SAMPLES = 40  # 7 + 40 * 6 = 247 bytes: one notification at the largest usual ATT MTU
ACTIONS = {1: ButtonAction.HELP, 2: ButtonAction.CANCEL}


def encode_accel(seq: int, rate_hz: float, samples_mg: np.ndarray, worn: bool | None = None) -> bytes:
    """One accelerometer notification (the emulator and firmware tests use this)."""
    n = len(samples_mg)
    if not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"1 to {MAX_SAMPLES} samples per notification")
    flags = 0 if worn is None else FLAG_WORN_VALID | (FLAG_WORN if worn else 0)
    head = ACCEL_HEADER.pack(VERSION, flags, seq % 65536, round(rate_hz * 100), n)
    body = np.clip(np.asarray(samples_mg), -32768, 32767).astype("<i2").tobytes()
    return bytes(head + body)


def encode_button(counter: int, action: ButtonAction = ButtonAction.HELP) -> bytes:
    code = {v: k for k, v in ACTIONS.items()}[action]
    return BUTTON_FORMAT.pack(VERSION, counter % 65536, code)


class CarehubDecoder:
    def __init__(self, device: str, placement: str) -> None:
        self.device = device
        self.placement = placement
        self.counters: Counter[str] = Counter()
        self._presses: int | None = None  # last press counter seen
        self._worn: bool | None = None

    def notify_uuids(self) -> tuple[str, ...]:
        return (ACCEL_BATCH, BUTTON, BATTERY_LEVEL)

    def sync_button(self, data: bytes) -> None:
        """The counter read at connection: presses before it were already handled (or are history)."""
        if len(data) == BUTTON_FORMAT.size and data[0] == VERSION:
            self._presses = BUTTON_FORMAT.unpack(data)[1]

    def decode(self, char_uuid: str, data: bytes, at: Stamp) -> list[Observation]:
        try:
            if char_uuid == ACCEL_BATCH:
                return self._accel(data, at)
            if char_uuid == BUTTON:
                return self._button(data, at)
            if char_uuid == BATTERY_LEVEL:
                return [battery(self.device, data, at)]
        except ValueError as exc:
            self.counters["malformed"] += 1
            self.counters[f"malformed.{str(exc).split(':')[0]}"] += 1
            return []
        self.counters["unknown_characteristic"] += 1
        return []

    def _accel(self, data: bytes, at: Stamp) -> list[Observation]:
        if len(data) < ACCEL_HEADER.size:
            raise ValueError("accel: shorter than its header")
        version, flags, seq, rate_chz, n = ACCEL_HEADER.unpack_from(data)
        if version != VERSION:
            raise ValueError(f"accel: version {version}")
        if not 1 <= n <= MAX_SAMPLES or len(data) != ACCEL_HEADER.size + 6 * n:
            raise ValueError("accel: sample count does not match the length")
        if not 1000 <= rate_chz <= 40000:
            raise ValueError("accel: rate outside 10-400 Hz")
        mg = np.frombuffer(data, dtype="<i2", offset=ACCEL_HEADER.size).reshape(n, 3)
        out: list[Observation] = [AccelBatch(device=self.device, at=at, fs=rate_chz / 100.0,
                                             samples=mg.astype(float) / 1000.0, placement=self.placement, seq=seq)]
        if flags & FLAG_WORN_VALID:
            worn = bool(flags & FLAG_WORN)
            if worn != self._worn:
                self._worn = worn
                out.append(DeviceStatus(device=self.device, at=at, worn=worn))
        return out

    def _button(self, data: bytes, at: Stamp) -> list[Observation]:
        if len(data) != BUTTON_FORMAT.size:
            raise ValueError("button: wrong length")
        version, counter, action = BUTTON_FORMAT.unpack(data)
        if version != VERSION or action not in ACTIONS:
            raise ValueError("button: unknown version or action")
        if counter == self._presses:
            self.counters["button_repeats"] += 1
            return []  # the same press again (re-delivered after a reconnect)
        self._presses = counter
        return [ButtonPress(device=self.device, at=at, action=ACTIONS[action])]
