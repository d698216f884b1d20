"""Daily routine: a few numbers per day, compared with this person's own recent days.

A change is reported as a low-priority wellbeing notice, at most once per
metric per day, with the evidence (value, baseline median and spread). The
baseline is robust (median and MAD) so that one odd day does not move it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

METRICS = ("activity", "bathroom_visits", "night_activity", "kitchen_use", "wake_min", "bed_min")
BASELINE_DAYS = 21
MIN_DAYS = 7
Z_LIMIT = 4.0
MIN_RELATIVE = 0.5  # and at least this relative change (or 60 minutes for times of day)


@dataclass
class Day:
    date: str
    activity: int = 0
    bathroom_visits: int = 0
    night_activity: int = 0
    kitchen_use: int = 0
    wake_min: float | None = None
    bed_min: float | None = None
    away_s: float = 0.0
    visitors: bool = False

    def usable(self) -> bool:
        return self.away_s < 12 * 3600 and not self.visitors and self.activity > 0


@dataclass
class Routine:
    history: deque[dict[str, float | None]] = field(default_factory=lambda: deque(maxlen=BASELINE_DAYS))

    def judge(self, day: Day) -> list[dict[str, object]]:
        """Notices for ``day`` against the days before it; then it joins the baseline."""
        notices: list[dict[str, object]] = []
        if day.usable() and len(self.history) >= MIN_DAYS:
            for metric in METRICS:
                value = getattr(day, metric)
                past = np.array([h[metric] for h in self.history if h.get(metric) is not None], dtype=float)
                if value is None or len(past) < MIN_DAYS:
                    continue
                med = float(np.median(past))
                mad = float(np.median(np.abs(past - med))) * 1.4826
                is_time = metric.endswith("_min")
                spread = max(mad, 30.0 if is_time else max(1.0, 0.1 * med))
                z = (float(value) - med) / spread
                big = abs(float(value) - med) >= (60.0 if is_time else MIN_RELATIVE * max(med, 1.0))
                if abs(z) >= Z_LIMIT and big:
                    notices.append({"metric": metric, "value": value, "baseline_median": round(med, 1),
                                    "baseline_spread": round(spread, 1), "direction": "up" if z > 0 else "down",
                                    "days": len(past)})
        if day.usable():
            self.history.append({m: getattr(day, m) for m in METRICS})
        return notices

    def snapshot(self) -> list[dict[str, float | None]]:
        return list(self.history)

    def restore(self, data: list[dict[str, float | None]]) -> None:
        self.history.clear()
        self.history.extend(data)
