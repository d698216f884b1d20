"""BBC micro:bit: Accelerometer Service and Button Service (Lancaster University's profile).

Accelerometer data E95DCA4B: X, Y, Z as int16 little-endian in milli-g, one
sample per notification, at the period written to E95DFB24 (ms: 1, 2, 5, 10,
20, 80, 160 or 640; the hub asks for 20 ms = 50 Hz). Buttons E95DDA90 (A) and
E95DDA91 (B): uint8, 0 released, 1 pressed, 2 long press. Button A is the help
button (its long press is a long press for the press patterns); a long press of
B says "I am fine" (cancels a pending fall), a short one is the second button.
"""

from __future__ import annotations

import struct
from collections import Counter

import numpy as np

from detection.events import AccelBatch, ButtonAction, ButtonPress, Observation, PressPattern, Stamp

_BASE = "-251d-470a-a062-fa1922dfa9a8"
ACCELEROMETER_SERVICE = "e95d0753" + _BASE
ACCELEROMETER_DATA = "e95dca4b" + _BASE
ACCELEROMETER_PERIOD = "e95dfb24" + _BASE
BUTTON_SERVICE = "e95d9882" + _BASE
BUTTON_A = "e95dda90" + _BASE
BUTTON_B = "e95dda91" + _BASE
PERIOD_MS = 20


class MicrobitDecoder:
    def __init__(self, device: str, placement: str, period_ms: int = PERIOD_MS) -> None:
        self.device = device
        self.placement = placement
        self.fs = 1000.0 / period_ms
        self.counters: Counter[str] = Counter()
        self._b_pressed = False
        self._b_held = False

    def notify_uuids(self) -> tuple[str, ...]:
        return (ACCELEROMETER_DATA, BUTTON_A, BUTTON_B)

    def decode(self, char_uuid: str, data: bytes, at: Stamp) -> list[Observation]:
        if char_uuid == ACCELEROMETER_DATA:
            if len(data) != 6:
                self.counters["malformed"] += 1
                return []
            x, y, z = struct.unpack("<hhh", data)
            samples = np.array([[x, y, z]], dtype=float) / 1000.0
            return [AccelBatch(device=self.device, at=at, fs=self.fs, samples=samples, placement=self.placement)]
        if char_uuid in (BUTTON_A, BUTTON_B):
            if len(data) != 1 or data[0] > 2:
                self.counters["malformed"] += 1
                return []
            if char_uuid == BUTTON_A:
                if data[0] == 1:
                    return [ButtonPress(device=self.device, at=at, action=ButtonAction.HELP)]
                if data[0] == 2:  # its own long-press code, after the press: a long press if it is mapped
                    return [ButtonPress(device=self.device, at=at, pattern=PressPattern.LONG)]
                return []
            return self._button_b(data[0], at)
        self.counters["unknown_characteristic"] += 1
        return []

    def _button_b(self, value: int, at: Stamp) -> list[Observation]:
        """B held: "I am fine" (cancels a pending fall); B pressed and let go: the second button."""
        if value == 1:
            self._b_pressed, self._b_held = True, False
            return []
        if value == 2:
            self._b_held = True
            return [ButtonPress(device=self.device, at=at, action=ButtonAction.CANCEL)]
        short = self._b_pressed and not self._b_held
        self._b_pressed = self._b_held = False
        # Told on release, so that a cancel (a long press) never also asks for the second button's service.
        return [ButtonPress(device=self.device, at=at, pattern=PressPattern.SECOND)] if short else []
