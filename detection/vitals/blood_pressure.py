"""Blood pressure above or below limits (urgent or notice), or far from the person's own recent readings.

A reading the cuff flags (body movement, cuff loose, improper position,
irregular pulse) still raises an urgent finding, with the flags as evidence:
the care team can call back and ask for a new measurement, and a real crisis
must not wait on a loose cuff. Flagged readings are neither learned nor
compared with the person's own range.
"""

from __future__ import annotations

from typing import Any

from detection.events import SECONDS_PER_DAY, Finding, Observation, Severity, VitalSign
from detection.vitals.common import DailyNotices, LatestTime, finding, median_sigma
from detection.vitals.settings import VitalsSettings


class BloodPressureWatch:
    def __init__(self, s: VitalsSettings, notices: DailyNotices, now: LatestTime) -> None:
        self.s = s
        self.notices = notices
        self._now = now
        self.history: list[tuple[float, float, float]] = []  # (local, systolic, diastolic), unflagged

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, VitalSign) or obs.systolic_mmhg is None or obs.diastolic_mmhg is None:
            return []
        s = self.s
        if s.user_id is not None and obs.user_id is not None and obs.user_id != s.user_id:
            return []
        sys_, dia = obs.systolic_mmhg, obs.diastolic_mmhg
        stale = self._now.age_s(obs.at.t) > s.stale_after_s
        evidence: dict[str, Any] = {"systolic_mmhg": sys_, "diastolic_mmhg": dia,
                                    "pulse_rate_bpm": obs.pulse_rate_bpm, "cuff_flags": list(obs.quality)}
        out: list[Finding] = []
        kind: str | None = None
        if sys_ >= s.bp_systolic_urgent or dia >= s.bp_diastolic_urgent:
            kind, severity = "blood_pressure_high", Severity.URGENT
        elif sys_ <= s.bp_systolic_low_urgent:
            kind, severity = "blood_pressure_low", Severity.URGENT
        elif sys_ >= s.bp_systolic_notice or dia >= s.bp_diastolic_notice:
            kind, severity = "blood_pressure_high", Severity.WELLBEING
        elif sys_ <= s.bp_systolic_low_notice:
            kind, severity = "blood_pressure_low", Severity.WELLBEING
        if kind is None and not obs.quality:
            deviation = self._deviation(obs.at.local, sys_, dia)
            if deviation:
                kind, severity = "blood_pressure_unusual", Severity.WELLBEING
                evidence |= deviation
        if kind is not None and not stale and self.notices.allow(kind, obs.at):
            out.append(finding(kind, severity, obs.at, s.person, obs.device, evidence))
        if not obs.quality:
            self.history.append((obs.at.local, sys_, dia))
            oldest = obs.at.local - s.bp_learn_days * SECONDS_PER_DAY
            self.history = [h for h in self.history if h[0] >= oldest]
        return out

    def _deviation(self, local: float, sys_: float, dia: float) -> dict[str, Any] | None:
        oldest = local - self.s.bp_learn_days * SECONDS_PER_DAY
        recent = [h for h in self.history if oldest <= h[0] < local]
        if len(recent) < self.s.bp_min_readings:
            return None
        for name, value, column in (("systolic", sys_, 1), ("diastolic", dia, 2)):
            med, sigma = median_sigma([h[column] for h in recent])
            allowed = max(self.s.bp_mad_k * sigma, self.s.bp_min_deviation_mmhg)
            if abs(value - med) > allowed:
                return {"compared": name, "own_median_mmhg": round(med, 1), "allowed_mmhg": round(allowed, 1),
                        "recent_readings": len(recent)}
        return None

    def snapshot(self) -> list[list[float]]:
        return [[round(a, 1), b, c] for a, b, c in self.history]

    def restore(self, rows: Any) -> None:
        if isinstance(rows, list):
            self.history = [(float(r[0]), float(r[1]), float(r[2])) for r in rows
                            if isinstance(r, list) and len(r) == 3]
