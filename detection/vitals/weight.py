"""A sudden weight change over days: a gain of ~2 kg in 3 days is the classic sign of fluid retention.

Each day's weight is the median of its readings (a second weighing in a coat
does not count twice); today's is compared with each of the last
``weight_days`` days'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from detection.events import Finding, Observation, Severity, VitalSign
from detection.vitals.common import DailyNotices, finding, local_day
from detection.vitals.settings import VitalsSettings

KEEP_DAYS = 60


class WeightWatch:
    def __init__(self, s: VitalsSettings, notices: DailyNotices) -> None:
        self.s = s
        self.notices = notices
        self.days: dict[int, list[float]] = {}

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, VitalSign) or obs.weight_kg is None:
            return []
        s = self.s
        if s.user_id is not None and obs.user_id is not None and obs.user_id != s.user_id:
            return []
        today = local_day(obs.at)
        self.days.setdefault(today, []).append(obs.weight_kg)
        for d in [d for d in self.days if d < today - KEEP_DAYS]:
            del self.days[d]
        now = float(np.median(self.days[today]))
        before = {d: float(np.median(v)) for d, v in self.days.items() if today - s.weight_days <= d < today}
        if not before:
            return []
        day, then = max(before.items(), key=lambda kv: abs(now - kv[1]))
        change = now - then
        if abs(change) < s.weight_change_kg:
            return []
        kind = "weight_gain" if change > 0 else "weight_loss"
        if not self.notices.allow(kind, obs.at):
            return []
        return [finding(kind, Severity.WELLBEING, obs.at, s.person, obs.device, {
            "weight_kg": round(now, 2), "earlier_kg": round(then, 2), "change_kg": round(change, 2),
            "days": today - day})]

    def snapshot(self) -> dict[str, Any]:
        return {str(d): v for d, v in self.days.items()}

    def restore(self, state: Any) -> None:
        if isinstance(state, dict):
            self.days = {int(d): [float(x) for x in v] for d, v in state.items() if isinstance(v, list)}
