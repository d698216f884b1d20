"""Oxygen saturation sustained below a level (urgent).

Two ways to be sustained: a continuous oximeter whose readings stay below
``spo2_low_pct`` for ``spo2_sustain_s`` (80 % of them, so a single artefact
does not break a real episode), or repeated spot-checks all below it, the
first and last ``spo2_sustain_s`` apart and none further apart than
``spo2_spot_gap_s`` (someone measuring again because they feel unwell).
Readings the oximeter itself calls unreliable, or taken off the finger, are
not readings.
"""

from __future__ import annotations

from detection.events import Finding, Observation, Severity, VitalSign
from detection.vitals.common import DailyNotices, Sustained, finding
from detection.vitals.settings import VitalsSettings

UNRELIABLE = frozenset({
    "questionable", "invalid", "measurement_unavailable", "demonstration", "testing", "calibration_ongoing",
    "equipment_malfunction", "sensor_malfunction", "unknown_sensor", "sensor_unconnected", "sensor_displaced",
    "sensor_disconnected", "erratic_signal", "inadequate_signal", "nonpulsatile_signal",
})
KIND = "spo2_low"


class OxygenWatch:
    def __init__(self, s: VitalsSettings, notices: DailyNotices) -> None:
        self.s = s
        self.notices = notices
        self._window = Sustained(s.spo2_sustain_s, s.spo2_max_gap_s)
        self._run: tuple[float, float, int] | None = None  # (first low t, last low t, count)

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, VitalSign) or obs.spo2_pct is None:
            return []
        if obs.skin_contact is False or UNRELIABLE & set(obs.quality):
            return []
        s, t, spo2 = self.s, obs.at.t, obs.spo2_pct
        low = spo2 < s.spo2_low_pct
        sustained = self._window.add(t, low)
        if low:
            if self._run is None or not 0.0 <= t - self._run[1] <= s.spo2_spot_gap_s:
                self._run = (t, t, 1)
            else:
                self._run = (self._run[0], t, self._run[2] + 1)
        else:
            self._run = None
        repeated = self._run is not None and self._run[2] >= 2 and self._run[1] - self._run[0] >= s.spo2_sustain_s
        if not (sustained or repeated) or not self.notices.allow(KIND, obs.at):
            return []
        evidence = {"spo2_pct": spo2, "limit_pct": s.spo2_low_pct, "sustain_s": s.spo2_sustain_s,
                    **self._window.evidence()}
        if not sustained and self._run is not None:
            evidence |= {"mode": "repeated_spot_checks", "readings": self._run[2],
                         "over_s": round(self._run[1] - self._run[0], 1)}
        return [finding(KIND, Severity.URGENT, obs.at, s.person, obs.device, evidence)]
