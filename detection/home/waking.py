"""The person's waking day: what the daytime bound counts, and when not getting up is ``no_wake``. Pure.

The waking day runs from getting up to this person's night. A silence that began
while the person was up and about counts from its start; on a morning after the
night, from the time ``no_wake`` is due (until then a late riser is asleep, and
no_wake watches). The night begins at the night hours' start, or later for a
person who usually goes to bed later (``night_from``), so that an evening
collapse in the armchair is not taken for the night.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from detection.events import Stamp
from detection.home.routine import Day
from detection.home.settings import HomeSettings

MIN_BED_TIMES = 5
DEFAULT_WAKE_MIN = 9 * 60.0  # before any wake-up has been learned
MIN_WAKES = 5
LONG_REST_S = 3 * 3600.0
LATEST_NIGHT_MIN = 26 * 60.0  # 02:00: a night that begins later than this is not a night's sleep


def _tod_min(local: float) -> float:
    return (local % 86400.0) / 60.0


def night_from(s: HomeSettings, bed_times: Iterable[float]) -> float:
    """When this person's night begins, in minutes after midnight (past 1440: after the next midnight):
    the night hours' start, or the 90th percentile of the learned bed times, at most 02:00."""
    start = s.night_start_hour * 60.0
    if s.night_start_hour < s.night_end_hour:
        return start  # an unusual "night" by day: take it as configured
    beds = sorted(bed_times)
    if len(beds) < MIN_BED_TIMES:
        return start
    latest = beds[min(len(beds) - 1, int(0.9 * len(beds)))]
    return max(start, min(LATEST_NIGHT_MIN, latest))


class WakingDay:
    """Seconds of a silence in the waking day; checked every tick, so each silence is counted once."""

    def __init__(self, settings: HomeSettings) -> None:
        self.s = settings
        self._cache: tuple[tuple[float, float, float], float, float] | None = None

    def seconds(self, start_local: float, end_local: float, day_from: float, asleep: float) -> float:
        """Seconds of [start, end] outside the night (``asleep`` to the night's end) and, on a morning
        after the night, not before ``day_from`` (minutes after midnight)."""
        s = self.s
        start_tod = _tod_min(start_local)
        if not s.is_night(start_tod / 60.0) and start_tod >= s.night_end_hour * 60:
            # Up and about when the silence began: that day's waking day began already.
            day_from_first = s.night_end_hour * 60.0
        else:
            day_from_first = day_from
        first_day = start_local // 86400
        total, t = 0.0, start_local
        cached = self._cache
        rules = (start_local, day_from, asleep)
        if cached is not None and cached[0] == rules and cached[1] <= end_local:
            total, t = cached[2], cached[1]  # the part already counted on earlier ticks of this silence
        night_end = s.night_end_hour * 60.0
        while t < end_local:
            step_end = min(end_local, (t // 600 + 1) * 600)
            tod = _tod_min(t)
            if tod < asleep - 1440:
                awake = True  # this person's evening goes on past midnight
            elif tod < night_end or tod >= asleep:
                awake = False
            else:
                awake = tod >= (day_from_first if t // 86400 == first_day else day_from)
            if awake:
                total += step_end - t
            t = step_end
        self._cache = (rules, end_local, total)
        return total


class WakeWatch:
    """``no_wake``: by the latest usual wake-up (90th percentile of the learned ones; 09:00 before
    MIN_WAKES are known) plus the margin, nothing since before 04:00."""

    def __init__(self, settings: HomeSettings) -> None:
        self.s = settings
        self.times: deque[float] = deque(maxlen=21)
        self.raised: str | None = None  # the date of the open no_wake
        self._due: tuple[int, float, bool, float] | None = None  # (n wakes and day, due, learned, latest)

    def rest(self, in_bed: bool, start_local: float, end_local: float, gap: float, day: Day) -> None:
        """A long silence that began in bed or in the evening and ended in the morning is a night's sleep."""
        start_h = _tod_min(start_local) / 60.0
        evening = start_h >= 19 or start_h < 4
        wake_min = _tod_min(end_local)
        if gap >= LONG_REST_S and (in_bed or evening) and 4 * 60 <= wake_min < 13 * 60:
            day.wake_min = wake_min
            # Minutes after the evening's midnight-before: 00:10 is 1450, so that 23:50 and 00:10 are close.
            day.bed_min = (_tod_min(start_local) - 720.0) % 1440.0 + 720.0
            self.times.append(wake_min)

    def due_min(self) -> float:
        """When no_wake was last due (minutes after midnight): the morning's end of the night."""
        return self._due[1] if self._due else DEFAULT_WAKE_MIN

    def check(self, day_number: int, last_t: float, at: Stamp) -> tuple[str, dict[str, Any]] | None:
        """(date, evidence) of a no_wake to raise now."""
        now_min = _tod_min(at.local)
        if self._due is None or self._due[0] != len(self.times) + 1000 * day_number:
            learned = len(self.times) >= MIN_WAKES
            ws = sorted(self.times)
            latest = ws[min(len(ws) - 1, int(0.9 * len(ws)))] if learned else DEFAULT_WAKE_MIN
            self._due = (len(self.times) + 1000 * day_number, latest + self.s.wake_margin_min, learned, latest)
        _, due, learned, latest = self._due
        if not due <= now_min < 14 * 60:
            return None
        date = datetime.fromtimestamp(at.local, UTC).strftime("%Y-%m-%d")
        if self.raised == date:
            return None
        # Still in the night's silence: nothing since before 04:00 today, on today's clock
        # (the last sign of life's own wall-clock stamp may predate a jump of the clock).
        midnight = at.local - now_min * 60
        if at.local - (at.t - last_t) >= midnight + 4 * 3600:
            return None
        self.raised = date
        return date, {"usual_latest_wake": f"{int(latest // 60):02d}:{int(latest % 60):02d}", "learned": learned,
                      "margin_min": self.s.wake_margin_min, "silent_min": round((at.t - last_t) / 60, 1)}
