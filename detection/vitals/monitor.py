"""One person's vital signs: the detector the gateway runs (docs/vitals.md).

Observations from devices that are not the person's are ignored. The notice
limit (one per kind per local day) and what was learned (resting heart rate,
recent blood pressure, daily weights) survive restarts through
``snapshot()``/``restore()``.
"""

from __future__ import annotations

from typing import Any

from detection.events import Finding, Observation, Tick
from detection.vitals.blood_pressure import BloodPressureWatch
from detection.vitals.common import DailyNotices, LatestTime
from detection.vitals.heart_rate import HeartRateWatch
from detection.vitals.oxygen import OxygenWatch
from detection.vitals.settings import VitalsSettings
from detection.vitals.temperature import TemperatureWatch
from detection.vitals.weight import WeightWatch

STATE_VERSION = 1


class VitalsMonitor:
    name = "vitals"

    def __init__(self, settings: VitalsSettings | None = None) -> None:
        s = settings or VitalsSettings()
        self.settings = s
        self.notices = DailyNotices()
        self.now = LatestTime()
        self.heart_rate = HeartRateWatch(s, self.notices)
        self.oxygen = OxygenWatch(s, self.notices)
        self.temperature = TemperatureWatch(s, self.notices, self.now)
        self.blood_pressure = BloodPressureWatch(s, self.notices, self.now)
        self.weight = WeightWatch(s, self.notices)
        self._parts = (self.heart_rate, self.oxygen, self.temperature, self.blood_pressure, self.weight)

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            self.now.advance(obs.at.t)
            return []
        devices = self.settings.devices
        if devices is not None and obs.device not in devices:
            return []
        self.now.advance(obs.at.t)
        out: list[Finding] = []
        for part in self._parts:
            out += part.observe(obs)
        return out

    def snapshot(self) -> dict[str, Any] | None:
        return {"version": STATE_VERSION, "notices": dict(self.notices.last_day),
                "heart_rate": self.heart_rate.snapshot(), "blood_pressure": self.blood_pressure.snapshot(),
                "weight": self.weight.snapshot()}

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
