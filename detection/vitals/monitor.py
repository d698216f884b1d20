"""One person's vital signs: the detector the gateway runs (docs/vitals.md).

Observations from devices that are not the person's are ignored. The notice
limit (one per kind per local day) and what was learned (resting heart rate,
recent blood pressure, daily weights) survive restarts through
``snapshot()``/``restore()``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from detection.events import Finding, Observation, Tick, VitalSign
from detection.vitals.blood_pressure import BloodPressureWatch
from detection.vitals.common import DailyNotices, LatestTime
from detection.vitals.heart_rate import HeartRateWatch
from detection.vitals.oxygen import OxygenWatch
from detection.vitals.settings import VitalsSettings
from detection.vitals.summary import DailySummary
from detection.vitals.temperature import TemperatureWatch
from detection.vitals.weight import WeightWatch

STATE_VERSION = 1
# Values no living adult shows: a sensor's error, not a reading (a glitching watch saying 255 bpm for
# ten minutes must not be a tachycardia).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "heart_rate_bpm": (20, 250), "pulse_rate_bpm": (20, 250), "spo2_pct": (50, 100), "body_temp_c": (25, 45),
    "systolic_mmhg": (40, 300), "diastolic_mmhg": (20, 200), "weight_kg": (20, 350),
}


def plausible(obs: VitalSign, rejected: Counter[str]) -> VitalSign:
    bad = {k: None for k, (lo, hi) in PLAUSIBLE.items()
           if (v := getattr(obs, k)) is not None and not lo <= v <= hi}
    if (obs.systolic_mmhg is not None and obs.diastolic_mmhg is not None
            and obs.diastolic_mmhg >= obs.systolic_mmhg):
        bad |= {"systolic_mmhg": None, "diastolic_mmhg": None}
    if not bad:
        return obs
    rejected.update(bad.keys())
    return replace(obs, **bad)  # type: ignore[arg-type]


class VitalsMonitor:
    name = "vitals"

    def __init__(self, settings: VitalsSettings | None = None) -> None:
        s = settings or VitalsSettings()
        self.settings = s
        self.notices = DailyNotices()
        self.now = LatestTime()
        self.rejected: Counter[str] = Counter()  # implausible values, per field
        self.heart_rate = HeartRateWatch(s, self.notices)
        self.oxygen = OxygenWatch(s, self.notices)
        self.temperature = TemperatureWatch(s, self.notices, self.now)
        self.blood_pressure = BloodPressureWatch(s, self.notices, self.now)
        self.weight = WeightWatch(s, self.notices)
        self.daily = DailySummary()
        self._parts = (self.heart_rate, self.oxygen, self.temperature, self.blood_pressure, self.weight)

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            self.now.advance(obs.at.t)
            return []
        devices = self.settings.devices
        if devices is not None and obs.device not in devices:
            return []
        self.now.advance(obs.at.t)
        if isinstance(obs, VitalSign):
            obs = plausible(obs, self.rejected)
        self.daily.observe(obs)
        out: list[Finding] = []
        for part in self._parts:
            out += part.observe(obs)
        return out

    def summary(self, day: int) -> dict[str, Any]:
        """The daily vitals summary of local day ``day`` (``local // 86400``), for the platform and the page."""
        resting = [v for d, _, v in self.heart_rate.history if d == day]
        return self.daily.summary(day, self.settings.person, resting)

    def snapshot(self) -> dict[str, Any] | None:
        return {"version": STATE_VERSION, "notices": dict(self.notices.last_day),
                "heart_rate": self.heart_rate.snapshot(), "blood_pressure": self.blood_pressure.snapshot(),
                "weight": self.weight.snapshot(), "daily": self.daily.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            return
        notices = state.get("notices")
        if isinstance(notices, dict):
            self.notices.last_day = {str(k): int(v) for k, v in notices.items() if isinstance(v, int)}
        hr = state.get("heart_rate")
        if isinstance(hr, dict):
            self.heart_rate.restore(hr)
        self.blood_pressure.restore(state.get("blood_pressure"))
        self.weight.restore(state.get("weight"))
        self.daily.restore(state.get("daily"))
