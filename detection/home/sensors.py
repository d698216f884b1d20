"""Which of the home's sensors can be trusted right now.

Cheap pressure mats and contacts fail "on": a bed mat that says occupied for
days, a door contact left open by a magnet that fell off. Others fail silent.
Read as presence, a stuck mat hides a collapse ("asleep") and a stuck contact
keeps a room "busy"; so a sensor that says "on" far longer than it ever has
while the person is seen elsewhere is *stuck*, and one that has gone silent
far longer than it ever has while the others speak is *silent*. Both are
technical findings; a stuck sensor is not read as presence until it reports again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from detection.events import Finding, FindingState, Severity, Stamp

HOUR = 3600.0
# Shortest "on" that can be called stuck, by kind: a night in bed, an afternoon in a chair.
STUCK_FLOOR_S = {"bed": 16 * HOUR, "seat": 8 * HOUR}
STUCK_FLOOR_OTHER_S = 2 * HOUR
STUCK_FACTOR = 3.0  # ... and this many times the longest "on" it has reported
ELSEWHERE_MIN = 3  # signs of life from other sensors since it went on: the person is not there
SILENT_FLOOR_S = 24 * HOUR
SILENT_FACTOR = 2.0
SILENT_MIN_EVENTS = 10
OTHERS_RECENT_S = HOUR


@dataclass
class _Sensor:
    kind: str
    room: str
    reports_off: bool = False
    on_since: float | None = None
    elsewhere: int = 0  # other sensors heard since it went on
    on_durations: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    last_t: float | None = None
    events: int = 0
    longest_quiet: float = 0.0
    stuck: bool = False
    silent: bool = False


@dataclass(frozen=True)
class Change:
    type: str  # sensor_stuck or sensor_silent
    device: str
    room: str
    raised: bool
    evidence: dict[str, object]

    def finding(self, at: Stamp) -> Finding:
        return Finding(type=self.type, severity=Severity.TECHNICAL, at=at, key=f"{self.type}:{self.device}",
                       device=self.device, room=self.room, evidence=self.evidence,
                       state=FindingState.RAISED if self.raised else FindingState.CLEARED)


class SensorTrust:
    def __init__(self) -> None:
        self._sensors: dict[str, _Sensor] = {}
        self._last_any: float | None = None

    def trusted(self, device: str) -> bool:
        s = self._sensors.get(device)
        return s is None or not s.stuck

    def heard(self, device: str, kind: str, room: str, active: bool, t: float) -> list[Change]:
        out: list[Change] = []
        s = self._sensors.get(device)
        if s is None:
            s = self._sensors[device] = _Sensor(kind, room)
        for other_id, other in self._sensors.items():
            if other_id != device and other.on_since is not None:
                other.elsewhere += 1
        if s.last_t is not None:
            s.longest_quiet = max(s.longest_quiet, t - s.last_t)
        s.last_t, s.events = t, s.events + 1
        self._last_any = t
        if s.silent:
            s.silent = False
            out.append(Change("sensor_silent", device, room, False, {"reason": "reporting again"}))
        if not active:
            s.reports_off = True
            if s.on_since is not None and not s.stuck:
                s.on_durations.append(t - s.on_since)
            s.on_since = None
        elif s.on_since is None:
            s.on_since, s.elsewhere = t, 0
        if s.stuck:
            s.stuck = False
            out.append(Change("sensor_stuck", device, room, False, {"reason": "reported a change again"}))
        return out

    def _stuck_limit(self, s: _Sensor) -> float:
        floor = STUCK_FLOOR_S.get(s.kind, STUCK_FLOOR_OTHER_S)
        return max(floor, STUCK_FACTOR * max(s.on_durations, default=0.0))

    def tick(self, t: float) -> list[Change]:
        out: list[Change] = []
        others_recent = self._last_any is not None and t - self._last_any <= OTHERS_RECENT_S
        for device, s in self._sensors.items():
            if (s.reports_off and s.on_since is not None and not s.stuck and s.elsewhere >= ELSEWHERE_MIN
                    and t - s.on_since > self._stuck_limit(s)):
                s.stuck = True
                out.append(Change("sensor_stuck", device, s.room, True, {
                    "on_h": round((t - s.on_since) / HOUR, 1), "limit_h": round(self._stuck_limit(s) / HOUR, 1),
                    "other_sensors_heard": s.elsewhere, "kind": s.kind}))
            if (not s.silent and s.last_t is not None and s.events >= SILENT_MIN_EVENTS and others_recent
                    and self._last_any != s.last_t):
                limit = max(SILENT_FLOOR_S, SILENT_FACTOR * s.longest_quiet)
                if t - s.last_t > limit:
                    s.silent = True
                    out.append(Change("sensor_silent", device, s.room, True, {
                        "silent_h": round((t - s.last_t) / HOUR, 1), "limit_h": round(limit / HOUR, 1),
                        "kind": s.kind}))
        return out
