"""Is the wearable worn? A watch on the night stand silently switches fall detection off.

Per wearable, the evidence is its skin contact (a heart-rate reading's own
flag, a "worn" report), a heart rate where the sensor cannot say contact, and
motion from its accelerometer: a wrist or a chest moves, a table does not.
Not worn is said by contact lost or by an accelerometer lying still (spread
below ``still_sd_g``) for ``still_after_s``. Time not worn is counted only
during the person's usual waking hours and only while the wearable is heard
(a silent one is the offline supervision's business); past ``not_worn_after_s``
a technical finding ``not_worn`` says "fall detection is not protecting this
person", cleared as soon as the wearable is worn again.

Usual waking hours are learned from the home's motion sensors (an hour of the
day is a waking hour when motion was seen in it on at least half of the last
days), and are the configured ones until ``learn_min_days`` days are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detection.events import (
    SECONDS_PER_DAY,
    AccelBatch,
    DeviceStatus,
    Finding,
    FindingState,
    Motion,
    Observation,
    Severity,
    Stamp,
    Tick,
    VitalSign,
    time_of_day,
)

STATE_VERSION = 1
MESSAGE = "fall detection is not protecting this person"


@dataclass(frozen=True, slots=True, kw_only=True)
class WearSettings:
    not_worn_after_s: float = 4 * 3600.0
    waking_hours: tuple[int, int] = (7, 22)  # until learned: [start, end) local hours
    still_sd_g: float = 0.004  # below a worn wrist's or chest's spread, above a resting sensor's noise
    moving_sd_g: float = 0.02
    still_after_s: float = 1800.0
    heard_within_s: float = 600.0
    learn_days: int = 14
    learn_min_days: int = 7


@dataclass
class _Wearable:
    worn: bool | None = None
    off_waking_s: float = 0.0
    raised: bool = False
    last_heard_t: float | None = None
    last_t: float | None = None
    still_since_t: float | None = None
    mags: list[np.ndarray] = field(default_factory=list)
    n: int = 0


class WearSupervisor:
    name = "wear"
    persist_on_finding = True  # an open not_worn is closed only by this detector's CLEARED

    def __init__(self, wearables: list[str], settings: WearSettings | None = None) -> None:
        self.s = settings or WearSettings()
        self._w = {w: _Wearable() for w in wearables}
        self.motion_days: dict[int, set[int]] = {}  # local day -> hours with home motion
        self._waking: frozenset[int] | None = None  # cached; None: to be recomputed

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Motion):
            if obs.active:
                day = int(obs.at.local // SECONDS_PER_DAY)
                hours = self.motion_days.setdefault(day, set())
                hour = int(time_of_day(obs.at.local) // 3600)
                if hour not in hours:
                    hours.add(hour)
                    self._waking = None
                    for old in [d for d in self.motion_days if d < day - self.s.learn_days]:
                        del self.motion_days[old]
            return self._advance_all(obs.at)
        if isinstance(obs, Tick):
            return self._advance_all(obs.at)
        w = self._w.get(obs.device)
        if w is None:
            return []
        out = self._advance(obs.device, w, obs.at)
        w.last_heard_t = obs.at.t
        evidence = self._evidence(w, obs)
        if evidence is True:
            w.worn, w.off_waking_s, w.still_since_t = True, 0.0, None
            if w.raised:
                w.raised = False
                out.append(self._finding(obs.device, obs.at, FindingState.CLEARED, {}))
        elif evidence is False and w.worn is not False:
            w.worn = False
            if w.still_since_t is not None and self.waking(obs.at.local):
                w.off_waking_s = obs.at.t - w.still_since_t  # it has lain still since then, not since now
        return out

    def _evidence(self, w: _Wearable, obs: Observation) -> bool | None:
        if isinstance(obs, DeviceStatus):
            return obs.worn
        if isinstance(obs, VitalSign):
            if obs.skin_contact is not None:
                return obs.skin_contact
            return True if obs.heart_rate_bpm else None
        if isinstance(obs, AccelBatch) and obs.samples.ndim == 2 and obs.samples.shape[1:] == (3,):
            w.mags.append(np.linalg.norm(obs.samples, axis=1))
            w.n += len(obs.samples)
            if w.n < max(5.0, 2.0 * obs.fs):
                return None
            sd = float(np.std(np.concatenate(w.mags)))
            w.mags, w.n = [], 0
            if sd >= self.s.moving_sd_g:
                return True
            if sd < self.s.still_sd_g:
                if w.still_since_t is None:
                    w.still_since_t = obs.at.t
                if obs.at.t - w.still_since_t >= self.s.still_after_s:
                    return False
            else:
                w.still_since_t = None
        return None

    def _advance_all(self, at: Stamp) -> list[Finding]:
        out: list[Finding] = []
        for dev, w in self._w.items():
            out += self._advance(dev, w, at)
        return out

    def _advance(self, dev: str, w: _Wearable, at: Stamp) -> list[Finding]:
        dt = 0.0 if w.last_t is None else at.t - w.last_t
        w.last_t = at.t if w.last_t is None else max(w.last_t, at.t)
        heard = w.last_heard_t is not None and at.t - w.last_heard_t <= self.s.heard_within_s
        if w.worn is not False or not heard or dt <= 0 or not self.waking(at.local):
            return []
        w.off_waking_s += dt
        if w.raised or w.off_waking_s < self.s.not_worn_after_s:
            return []
        w.raised = True
        return [self._finding(dev, at, FindingState.RAISED, {
            "not_worn_waking_s": round(w.off_waking_s), "limit_s": self.s.not_worn_after_s,
            "waking_hours": self.waking_hours_list(), "message": MESSAGE})]

    def waking_hours_list(self) -> list[int]:
        return sorted(self._waking_hours())

    def _waking_hours(self) -> frozenset[int]:
        if self._waking is None:
            # Today's day is still filling: judge on the days before it, once enough are known.
            days = [h for d, h in self.motion_days.items() if d < max(self.motion_days, default=0)]
            if len(days) < self.s.learn_min_days:
                start, end = self.s.waking_hours
                self._waking = frozenset(h for h in range(24) if (start <= h < end if start <= end
                                                                  else h >= start or h < end))
            else:
                self._waking = frozenset(h for h in range(24) if sum(h in d for d in days) * 2 >= len(days))
        return self._waking

    def waking(self, local: float) -> bool:
        return int(time_of_day(local) // 3600) in self._waking_hours()

    @staticmethod
    def _finding(dev: str, at: Stamp, state: FindingState, evidence: dict[str, Any]) -> Finding:
        return Finding(type="not_worn", severity=Severity.TECHNICAL, at=at, key=f"not_worn:{dev}", state=state,
                       device=dev, evidence=evidence)

    def snapshot(self) -> dict[str, Any] | None:
        return {"version": STATE_VERSION, "raised": sorted(d for d, w in self._w.items() if w.raised),
                "motion_days": {str(d): sorted(h) for d, h in self.motion_days.items()}}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            return
        raised = state.get("raised")
        if isinstance(raised, list):
            for dev in raised:
                if dev in self._w:
                    self._w[dev].raised = True
                    self._w[dev].worn = False
        days = state.get("motion_days")
        if isinstance(days, dict):
            self.motion_days = {int(d): {int(h) for h in hs} for d, hs in days.items() if isinstance(hs, list)}
            self._waking = None
