"""Fever and low body temperature from a thermometer's deliberate measurement (one reading is enough).

Armpit, finger and toe readings run lower than the body's core; they are
raised by ``site_offset_c`` before the limits apply.
"""

from __future__ import annotations

from detection.events import Finding, Observation, Severity, VitalSign
from detection.vitals.common import DailyNotices, LatestTime, finding
from detection.vitals.settings import VitalsSettings

PERIPHERAL_SITES = frozenset({"armpit", "finger", "toe"})


class TemperatureWatch:
    def __init__(self, s: VitalsSettings, notices: DailyNotices, now: LatestTime) -> None:
        self.s = s
        self.notices = notices
        self._now = now

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, VitalSign) or obs.body_temp_c is None:
            return []
        s = self.s
        if self._now.age_s(obs.at.t) > s.stale_after_s:
            return []  # sent late from the thermometer's memory: history, not news
        core = obs.body_temp_c + (s.site_offset_c if obs.temp_site in PERIPHERAL_SITES else 0.0)
        if core >= s.fever_urgent_c:
            kind, severity, limit = "fever_high", Severity.URGENT, s.fever_urgent_c
        elif core >= s.fever_c:
            kind, severity, limit = "fever", Severity.WELLBEING, s.fever_c
        elif core <= s.hypothermia_c:
            kind, severity, limit = "body_temperature_low", Severity.URGENT, s.hypothermia_c
        else:
            return []
        if not self.notices.allow(kind, obs.at):
            return []
        return [finding(kind, severity, obs.at, s.person, obs.device, {
            "temperature_c": obs.body_temp_c, "site": obs.temp_site, "core_estimate_c": round(core, 2),
            "limit_c": limit, "clock_suspect": obs.clock_suspect})]
