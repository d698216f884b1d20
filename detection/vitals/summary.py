"""A day of one person's vital signs in a few numbers: the daily summary for the care team and the page.

Per local day: the resting heart rate (median of the resting 5-minute medians
the heart-rate detector learned from) and its range, how many measurements of
each kind were taken, their lowest / median / highest values, and how long each
wearable was worn (time between its readings, up to ``MAX_GAP_S`` each, while
its last contact report said worn). The last ``KEEP_DAYS`` days are kept (the
7-day chart) and survive restarts. A continuous oximeter sends 86,400 readings
a day: each kind keeps its exact count, lowest and highest, and a sample of at
most ``SAMPLE_CAP`` values (halved, evenly over the day, when full) for the median.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from detection.events import SECONDS_PER_DAY, AccelBatch, DeviceStatus, Observation, VitalSign
from detection.vitals.common import local_day

KEEP_DAYS = 8
MAX_GAP_S = 300.0
SAMPLE_CAP = 256  # the hourly baseline save stays small on an SD card
MEASURED = {"heart_rate_bpm": "heart_rate", "spo2_pct": "spo2", "body_temp_c": "temperature",
            "systolic_mmhg": "systolic", "diastolic_mmhg": "diastolic", "weight_kg": "weight"}


class _Kind:
    __slots__ = ("high", "low", "n", "sample")

    def __init__(self) -> None:
        self.n = 0
        self.low = float("inf")
        self.high = float("-inf")
        self.sample: list[float] = []

    def add(self, value: float) -> None:
        self.n += 1
        self.low, self.high = min(self.low, value), max(self.high, value)
        self.sample.append(value)
        if len(self.sample) > SAMPLE_CAP:
            del self.sample[::2]

    def stats(self) -> dict[str, float]:
        return {"min": round(self.low, 1), "median": round(float(np.median(self.sample)), 1),
                "max": round(self.high, 1)}

    def to_data(self) -> list[Any]:
        return [self.n, self.low, self.high, [round(v, 2) for v in self.sample]]

    @classmethod
    def from_data(cls, data: Any) -> _Kind:
        k = cls()
        if (isinstance(data, list) and len(data) == 4 and isinstance(data[0], int) and data[0] > 0
                and isinstance(data[3], list) and data[3]):
            k.n, k.low, k.high = int(data[0]), float(data[1]), float(data[2])
            k.sample = [float(v) for v in data[3][:SAMPLE_CAP]]
        return k


class _Day:
    def __init__(self) -> None:
        self.kinds = {kind: _Kind() for kind in MEASURED.values()}
        self.worn_s: dict[str, float] = {}


class DailySummary:
    def __init__(self) -> None:
        self.days: dict[int, _Day] = {}
        self._worn: dict[str, bool] = {}
        self._last_t: dict[str, float] = {}
        self.last: dict[str, tuple[float, float]] = {}  # kind -> (value, local time): the page's last readings

    def _day(self, day: int) -> _Day:
        acc = self.days.get(day)
        if acc is None:
            acc = self.days[day] = _Day()
            for old in [d for d in self.days if d <= day - KEEP_DAYS]:
                del self.days[old]
        return acc

    def observe(self, obs: Observation) -> None:
        if not isinstance(obs, DeviceStatus | VitalSign | AccelBatch):
            return
        # The time since the wearable's last report counts as worn if it was worn then.
        last = self._last_t.get(obs.device)
        self._last_t[obs.device] = obs.at.t if last is None else max(last, obs.at.t)
        if last is not None and self._worn.get(obs.device, False) and 0 < obs.at.t - last <= MAX_GAP_S:
            worn = self._day(local_day(obs.at)).worn_s
            worn[obs.device] = worn.get(obs.device, 0.0) + obs.at.t - last
        if isinstance(obs, DeviceStatus) and obs.worn is not None:
            self._worn[obs.device] = obs.worn
        elif isinstance(obs, VitalSign):
            if obs.skin_contact is not None:
                self._worn[obs.device] = obs.skin_contact
            kinds = self._day(local_day(obs.at)).kinds
            for field, kind in MEASURED.items():
                value = getattr(obs, field)
                if value is not None:
                    kinds[kind].add(float(value))
                    if kind != "heart_rate" or obs.at.local >= self.last.get(kind, (0.0, 0.0))[1] + 60:
                        self.last[kind] = (float(value), obs.at.local)  # heart rate: once a minute is enough

    def summary(self, day: int, person: str, resting: list[float]) -> dict[str, Any]:
        """The day's summary; ``resting`` is the heart-rate detector's resting 5-minute medians of that day."""
        acc = self.days.get(day) or _Day()
        out: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d", time.gmtime(day * SECONDS_PER_DAY)), "person": person,
            "resting_heart_rate_bpm": round(float(np.median(resting)), 1) if resting else None,
            "resting_heart_rate_range_bpm": [round(min(resting), 1), round(max(resting), 1)] if resting else None,
            "measurements": {kind: k.n for kind, k in acc.kinds.items()},
            "worn_h": {dev: round(s / 3600.0, 2) for dev, s in sorted(acc.worn_s.items())},
        }
        out |= {kind: k.stats() for kind, k in acc.kinds.items() if k.n}
        return out

    def snapshot(self) -> dict[str, Any]:
        days = {str(d): {"kinds": {kind: k.to_data() for kind, k in acc.kinds.items() if k.n},
                         "worn_s": {dev: round(s, 1) for dev, s in acc.worn_s.items()}}
                for d, acc in self.days.items()}
        return {"last": {k: list(v) for k, v in self.last.items()}, **days}

    def restore(self, state: Any) -> None:
        if not isinstance(state, dict):
            return
        last = state.get("last")
        if isinstance(last, dict):
            self.last = {str(k): (float(v[0]), float(v[1])) for k, v in last.items()
                         if isinstance(v, list) and len(v) == 2 and k in MEASURED.values()}
        for d, data in state.items():
            if d == "last" or not isinstance(data, dict) or not isinstance(data.get("kinds"), dict):
                continue
            acc = _Day()
            for kind in MEASURED.values():
                if kind in data["kinds"]:
                    acc.kinds[kind] = _Kind.from_data(data["kinds"][kind])
            worn = data.get("worn_s")
            if isinstance(worn, dict):
                acc.worn_s = {str(dev): float(s) for dev, s in worn.items()}
            self.days[int(d)] = acc
