"""Heart rate at rest: outside absolute bounds (urgent, from the first day) or the person's own range.

Only readings with skin contact (the reading's own flag, else the wearable's
last "worn" report) taken at rest count. The own range is learned per 4-hour
band of the day (sleep lowers the heart rate by 10-20 bpm) from 5-minute
medians over the last ``hr_learn_days``: median +/- max(k * MAD-sigma,
``hr_min_margin_bpm``), once ``hr_min_days`` days are known for that band.
"""

from __future__ import annotations

from typing import Any

from detection.events import SECONDS_PER_DAY, AccelBatch, DeviceStatus, Finding, Observation, Severity, VitalSign
from detection.vitals.common import DailyNotices, Sustained, finding, local_day, median_sigma
from detection.vitals.rest import RestTracker
from detection.vitals.settings import VitalsSettings

BAND_S = 4 * 3600.0
BUCKET_S = 300.0
MIN_PER_BUCKET = 3
MIN_BUCKETS_PER_DAY = 6


def band_of(local: float) -> int:
    return int((local % SECONDS_PER_DAY) // BAND_S)


class HeartRateWatch:
    def __init__(self, s: VitalsSettings, notices: DailyNotices) -> None:
        self.s = s
        self.notices = notices
        self.rest = RestTracker(s.hr_rest_settle_s)
        self._worn: dict[str, bool] = {}
        self._windows = {
            "heart_rate_low": Sustained(s.hr_sustain_s, s.hr_max_gap_s),
            "heart_rate_high": Sustained(s.hr_sustain_s, s.hr_max_gap_s),
            "resting_heart_rate_low": Sustained(s.hr_personal_sustain_s, s.hr_max_gap_s),
            "resting_heart_rate_high": Sustained(s.hr_personal_sustain_s, s.hr_max_gap_s),
        }
        self.history: list[tuple[int, int, float]] = []  # (local day, band, 5-minute median)
        self.ranges: dict[int, tuple[float, float, float]] = {}  # band -> (low, median, high)
        self._bucket: tuple[int, int, int, list[float]] = (-1, 0, 0, [])  # (5-min slot, day, band, readings)
        self._day: int | None = None

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, AccelBatch):
            self.rest.add(obs)
            return []
        if isinstance(obs, DeviceStatus) and obs.worn is not None:
            self._worn[obs.device] = obs.worn
            return []
        if not isinstance(obs, VitalSign) or obs.heart_rate_bpm is None:
            return []
        contact = obs.skin_contact if obs.skin_contact is not None else self._worn.get(obs.device)
        if (self.s.hr_require_contact and contact is not True) or not self.rest.at_rest(obs.at.t):
            for w in self._windows.values():
                w.reset()
            return []
        return self._resting(obs, obs.heart_rate_bpm)

    def _resting(self, obs: VitalSign, bpm: float) -> list[Finding]:
        s, t = self.s, obs.at.t
        day = local_day(obs.at)
        if day != self._day:
            self._day = day
            self._relearn(day)
        band = band_of(obs.at.local)
        own = self.ranges.get(band)
        beyond = {
            "heart_rate_low": bpm < s.hr_low_bpm,
            "heart_rate_high": bpm > s.hr_high_bpm,
            "resting_heart_rate_low": own is not None and bpm < own[0],
            "resting_heart_rate_high": own is not None and bpm > own[2],
        }
        out: list[Finding] = []
        for kind, w in self._windows.items():
            if w.add(t, beyond[kind]) and self.notices.allow(kind, obs.at):
                urgent = kind.startswith("heart_rate")
                evidence: dict[str, Any] = {"heart_rate_bpm": bpm, **w.evidence()}
                if urgent:
                    evidence["limit_bpm"] = s.hr_low_bpm if kind.endswith("low") else s.hr_high_bpm
                elif own is not None:
                    evidence |= {"own_low_bpm": round(own[0], 1), "own_median_bpm": round(own[1], 1),
                                 "own_high_bpm": round(own[2], 1)}
                out.append(finding(kind, Severity.URGENT if urgent else Severity.WELLBEING, obs.at, s.person,
                                   obs.device, evidence))
        if s.hr_low_bpm <= bpm <= s.hr_high_bpm:
            self._learn(t, day, band, bpm)
        return out

    def _learn(self, t: float, day: int, band: int, bpm: float) -> None:
        slot = int(t // BUCKET_S)
        if slot != self._bucket[0]:
            _, bday, bband, values = self._bucket
            if len(values) >= MIN_PER_BUCKET:
                self.history.append((bday, bband, median_sigma(values)[0]))
            self._bucket = (slot, day, band, [])
        self._bucket[3].append(bpm)

    def _relearn(self, today: int) -> None:
        oldest = today - self.s.hr_learn_days
        self.history = [h for h in self.history if oldest <= h[0] < today]
        self.ranges = {}
        for band in range(int(SECONDS_PER_DAY // BAND_S)):
            per_day: dict[int, list[float]] = {}
            for d, b, v in self.history:
                if b == band:
                    per_day.setdefault(d, []).append(v)
            days = [vals for vals in per_day.values() if len(vals) >= MIN_BUCKETS_PER_DAY]
            if len(days) < self.s.hr_min_days:
                continue
            med, sigma = median_sigma([v for vals in days for v in vals])
            margin = max(self.s.hr_mad_k * sigma, self.s.hr_min_margin_bpm)
            self.ranges[band] = (med - margin, med, med + margin)

    def snapshot(self) -> dict[str, Any]:
        return {"history": [[d, b, round(v, 1)] for d, b, v in self.history]}

    def restore(self, state: dict[str, Any]) -> None:
        rows = state.get("history")
        if isinstance(rows, list):
            self.history = [(int(r[0]), int(r[1]), float(r[2])) for r in rows
                            if isinstance(r, list) and len(r) == 3]
            self._day = None
