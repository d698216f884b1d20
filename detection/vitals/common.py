"""Pieces every vital-sign detector shares: sustained conditions, daily notice limits, robust statistics."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from detection.events import SECONDS_PER_DAY, Finding, Severity, Stamp

MAD_TO_SIGMA = 1.4826


def median_sigma(values: list[float] | np.ndarray) -> tuple[float, float]:
    """Median and MAD scaled to a normal sigma: a few wild readings move neither."""
    arr = np.asarray(values, dtype=float)
    med = float(np.median(arr))
    return med, MAD_TO_SIGMA * float(np.median(np.abs(arr - med)))


def local_day(at: Stamp) -> int:
    return int(at.local // SECONDS_PER_DAY)


class Sustained:
    """Whether a condition held for ``duration_s``: readings covering that time, no gap over ``max_gap_s``,
    at least ``fraction`` of them beyond the limit (so one artefact does not break a real episode)."""

    def __init__(self, duration_s: float, max_gap_s: float, fraction: float = 0.8) -> None:
        self.duration_s = duration_s
        self.max_gap_s = max_gap_s
        self.fraction = fraction
        self._q: deque[tuple[float, bool]] = deque()
        self._beyond = 0
        self._since: float | None = None

    def reset(self) -> None:
        self._q.clear()
        self._beyond = 0
        self._since = None

    def add(self, t: float, beyond: bool) -> bool:
        if self._q and not 0.0 <= t - self._q[-1][0] <= self.max_gap_s:
            self.reset()  # a gap, or a reading from the past (a device's memory): start again
        if self._since is None:
            self._since = t
        self._q.append((t, beyond))
        self._beyond += beyond
        while self._q[0][0] < t - self.duration_s:
            self._beyond -= self._q.popleft()[1]
        return t - self._since >= self.duration_s and self._beyond >= self.fraction * len(self._q)

    def evidence(self) -> dict[str, Any]:
        return {"readings": len(self._q), "beyond": self._beyond,
                "over_s": round(self._q[-1][0] - self._q[0][0], 1) if self._q else 0.0}


class LatestTime:
    """The latest hub time seen: a measurement sent late from a device's memory has an older ``at``."""

    def __init__(self) -> None:
        self.t: float | None = None

    def advance(self, t: float) -> None:
        if self.t is None or t > self.t:
            self.t = t

    def age_s(self, t: float) -> float:
        return 0.0 if self.t is None else self.t - t


class DailyNotices:
    """At most one finding per kind per local day."""

    def __init__(self) -> None:
        self.last_day: dict[str, int] = {}

    def allow(self, kind: str, at: Stamp) -> bool:
        day = local_day(at)
        if self.last_day.get(kind) == day:
            return False
        self.last_day[kind] = day
        return True


def finding(kind: str, severity: Severity, at: Stamp, person: str, device: str | None,
            evidence: dict[str, Any]) -> Finding:
    return Finding(type=kind, severity=severity, at=at, key=f"{kind}:{person}", device=device,
                   evidence={"person": person, **evidence})
