"""Is the person at rest? From the accelerometers of their wearables, where they have one.

Movement is the spread (standard deviation) of the acceleration magnitude over
about two seconds: walking shakes a wrist or a waist by a few tenths of a g,
sitting or lying still by a few hundredths. A heart rate counts as resting only
after ``settle_s`` without movement, so the minutes of recovery after a walk
are not read as a fast resting heart rate. A person whose wearables have no
accelerometer (a chest strap alone) is taken to be at rest: the heart rate
detector then relies on its absolute bounds and sustained durations alone.
"""

from __future__ import annotations

import numpy as np

from detection.events import AccelBatch

MOVING_SD_G = 0.08
WINDOW_S = 2.0


class RestTracker:
    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self.last_moving_t: float | None = None
        self.seen_accelerometer = False
        self._buf: dict[str, list[np.ndarray]] = {}
        self._n: dict[str, int] = {}

    def add(self, batch: AccelBatch) -> None:
        if batch.samples.ndim != 2 or batch.samples.shape[1] != 3 or len(batch.samples) == 0:
            return
        self.seen_accelerometer = True
        buf = self._buf.setdefault(batch.device, [])
        buf.append(np.linalg.norm(batch.samples, axis=1))
        self._n[batch.device] = self._n.get(batch.device, 0) + len(batch.samples)
        if self._n[batch.device] < max(5.0, batch.fs * WINDOW_S):
            return
        mags = np.concatenate(buf)
        buf.clear()
        self._n[batch.device] = 0
        if float(np.std(mags)) > MOVING_SD_G:
            self.last_moving_t = batch.at.t

    def at_rest(self, t: float) -> bool:
        if not self.seen_accelerometer:
            return True
        if self.last_moving_t is None:
            return True
        return t - self.last_moving_t >= self.settle_s
