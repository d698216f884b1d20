"""Home monitoring from the home's own sensors: inactivity, stuck in a room, no wake-up,
night wandering, and changes of routine. Pure: observations in, findings out.

Signs of life are any motion and any change of a door, bed, seat, toilet, cabinet,
fridge, appliance or light sensor (temperature is not a sign of life). Silence
is measured on the monotonic timeline (a clock jump at boot is not silence);
time of day comes from local time. Ticks (every 30 s) let silence be noticed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from detection.events import Contact, Finding, FindingState, Motion, Observation, Severity, Stamp, Tick
from detection.home.gaps import GapModel
from detection.home.routine import Day, Routine
from detection.home.settings import HomeSettings

STATE_VERSION = 1
NOT_ACTIVITY = {"temperature"}
LONG_REST_S = 3 * 3600.0
VISITOR_ROOMS = 3  # motion in this many rooms within VISITOR_WINDOW_S: more than one person
VISITOR_WINDOW_S = 10.0
VISITOR_HOLD_S = 1800.0
DEFAULT_WAKE_MIN = 9 * 60.0  # before any wake-up has been learned
MIN_WAKES = 5
INACTIVITY_KEY = "inactivity"
MOVING_STALE_S = 4 * 3600.0
NIGHT_UP_FLOOR_S = 30 * 60.0
NIGHT_UP_DEFAULT_S = 60 * 60.0


def _date(local: float) -> str:
    return datetime.fromtimestamp(local, UTC).strftime("%Y-%m-%d")


def _tod_min(local: float) -> float:
    return (local % 86400.0) / 60.0


@dataclass
class _Last:
    t: float
    local: float
    room: str
    context: str
    device: str
    kind: str


class HomeMonitor:
    name = "home"

    def __init__(self, settings: HomeSettings | None = None) -> None:
        self.s = settings or HomeSettings()
        self.gaps = GapModel()
        self.routine = Routine()
        self.wake_times: deque[float] = deque(maxlen=21)
        self._last: _Last | None = None
        self._silence_from: Stamp | None = None  # no sign of life yet: count from the first tick
        self._in_bed = False
        self._seated_room: str | None = None
        self._door_t: float | None = None
        self._away_since: float | None = None
        self._night_door_t: float | None = None
        self._night_door_raised = False
        self._raised: str | None = None  # type of the open inactivity/dwell finding
        self._no_wake_raised: str | None = None  # date
        self._visitors_until = -1.0
        self._recent_rooms: deque[tuple[float, str]] = deque(maxlen=16)
        self._day: Day | None = None
        self._day_number = -1
        self._wake_due: tuple[int, float, bool, float] | None = None  # (n wakes, due, learned, latest)
        # Motion sensors that report when movement ends (interval sources, PIRs with a
        # hold time) are trusted while they say "moving"; the others are instants.
        self._reports_off: set[str] = set()
        self._moving: dict[str, tuple[float, str]] = {}
        self._on_durations: dict[str, deque[float]] = {}
        self.night_up: deque[float] = deque(maxlen=60)  # how long this person is usually up at night (s)
        self._up_since: float | None = None
        self._up_raised = False

    # --- detector protocol ------------------------------------------------------

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            return self._tick(obs.at)
        if isinstance(obs, Motion):
            return self._activity(obs, "motion", obs.active)
        if isinstance(obs, Contact) and obs.kind not in NOT_ACTIVITY:
            return self._activity(obs, obs.kind, obs.active)
        return []

    def snapshot(self) -> dict[str, Any] | None:
        return {"version": STATE_VERSION, "gaps": self.gaps.snapshot(), "routine": self.routine.snapshot(),
                "wake_times": list(self.wake_times), "night_up": list(self.night_up)}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            return  # an older format: start learning afresh rather than misread it
        self.gaps.restore(state.get("gaps", []))
        self.routine.restore(state.get("routine", []))
        self.wake_times.clear()
        self.wake_times.extend(float(w) for w in state.get("wake_times", []))
        self.night_up.clear()
        self.night_up.extend(float(w) for w in state.get("night_up", []))

    # --- signs of life ----------------------------------------------------------

    def _activity(self, obs: Observation, kind: str, active: bool) -> list[Finding]:
        out: list[Finding] = []
        at = obs.at
        room = obs.room or "other"
        out += self._roll_day(at)
        day = self._day
        assert day is not None
        hour = _tod_min(at.local) / 60.0
        visitors = at.t < self._visitors_until
        prev = self._last

        if prev is not None:
            gap = at.t - prev.t
            if self._away_since is None and not visitors:
                self.gaps.record(prev.context, int(_tod_min(prev.local) // 60), gap)
            self._note_rest(prev, at, gap, day)
        if self._raised is not None:
            out.append(self._finding(self._raised, Severity.URGENT, at, INACTIVITY_KEY, room,
                                     {"reason": f"{kind} in {room}"}, FindingState.CLEARED))
            self._raised = None
        if self._no_wake_raised is not None:
            out.append(self._finding("no_wake", Severity.URGENT, at, f"no_wake:{self._no_wake_raised}", room,
                                     {"reason": f"{kind} in {room}"}, FindingState.CLEARED))
            self._no_wake_raised = None

        if kind == "door":
            if self._away_since is None and self.s.is_night(hour) and self._night_door_t is None:
                self._night_door_t = at.t
            self._door_t = at.t
        else:
            if self._away_since is not None:
                day.away_s += at.t - self._away_since
                self._away_since = None
            self._door_t = None
            if self._night_door_t is not None:
                if self._night_door_raised:
                    out.append(self._finding("night_wandering", self._night_severity(), at, "night_wandering",
                                             room, {"reason": f"back inside: {kind} in {room}"},
                                             FindingState.CLEARED))
                self._night_door_t, self._night_door_raised = None, False

        if kind == "bed":
            if not active and self.s.is_night(hour):
                self._up_since = at.t
            elif active and self._up_since is not None:
                if self._up_raised:
                    out.append(self._finding("night_out_of_bed", self._night_severity(), at, "night_out_of_bed",
                                             room, {"reason": "back in bed"}, FindingState.CLEARED))
                else:
                    self.night_up.append(at.t - self._up_since)
                self._up_since, self._up_raised = None, False
            self._in_bed = active
        elif kind == "seat":
            self._seated_room = room if active else None
        context = "bed" if self._in_bed else (f"seat:{self._seated_room}" if self._seated_room else room)

        if kind == "motion":
            if active and obs.device in self._reports_off:
                self._moving[obs.device] = (at.t, room)
            elif not active:
                self._reports_off.add(obs.device)
                began = self._moving.pop(obs.device, None)
                if began is not None:
                    self._on_durations.setdefault(obs.device, deque(maxlen=200)).append(at.t - began[0])
        if kind == "motion" and active:
            self._recent_rooms.append((at.t, room))
            rooms = {r for t, r in self._recent_rooms if at.t - t <= VISITOR_WINDOW_S}
            if len(rooms) >= VISITOR_ROOMS:
                self._visitors_until = at.t + VISITOR_HOLD_S
                day.visitors = True
        if active or kind != "motion":
            day.activity += 1
            if room == "bathroom" and (prev is None or prev.room != "bathroom"):
                day.bathroom_visits += 1
            if self.s.is_night(hour):
                day.night_activity += 1
            if room == "kitchen":
                day.kitchen_use += 1
        self._last = _Last(at.t, at.local, room, context, obs.device, kind)
        self._silence_from = None
        return out

    def _check_night_up(self, at: Stamp) -> list[Finding]:
        """Out of bed at night for much longer than this person usually is."""
        if self._up_since is None or self._up_raised or self._away_since is not None:
            return []
        up = at.t - self._up_since
        seen = sorted(self.night_up)
        limit = max(NIGHT_UP_FLOOR_S, 1.5 * seen[-1] + 600.0) if len(seen) >= 5 else NIGHT_UP_DEFAULT_S
        if up <= limit:
            return []
        self._up_raised = True
        room = self._last.room if self._last else None
        return [self._finding("night_out_of_bed", self._night_severity(), at, "night_out_of_bed", room, {
            "up_min": round(up / 60, 1), "limit_min": round(limit / 60, 1), "learned_from": len(seen),
        })]

    def _moving_limit(self, device: str) -> float:
        seen = self._on_durations.get(device)
        if not seen or len(seen) < 5:
            return 30 * 60.0
        return min(MOVING_STALE_S, max(600.0, 1.5 * max(seen)))

    def _note_rest(self, prev: _Last, at: Stamp, gap: float, day: Day) -> None:
        """A long silence that began in bed or in the evening and ended in the morning is a night's sleep."""
        start_h = _tod_min(prev.local) / 60.0
        evening = start_h >= 19 or start_h < 4
        wake_min = _tod_min(at.local)
        if gap >= LONG_REST_S and (prev.context == "bed" or evening) and 4 * 60 <= wake_min < 13 * 60:
            day.wake_min = wake_min
            day.bed_min = _tod_min(prev.local)
            self.wake_times.append(wake_min)

    # --- time passing -----------------------------------------------------------

    def _tick(self, at: Stamp) -> list[Finding]:
        out = self._roll_day(at)
        s = self.s
        if self._door_t is not None and at.t - self._door_t >= s.away_after_min * 60:
            self._away_since, self._door_t = self._door_t, None
        if (self._night_door_t is not None and not self._night_door_raised
                and at.t - self._night_door_t >= s.night_out_min * 60):
            self._night_door_raised = True
            room = self._last.room if self._last else "entrance"
            out.append(self._finding("night_wandering", self._night_severity(), at, "night_wandering", room,
                                     {"door_opened_min_ago": round((at.t - self._night_door_t) / 60, 1),
                                      "limit_min": s.night_out_min}))
        out += self._check_night_up(at)
        if self._away_since is not None:
            return out
        last = self._last
        if last is not None and self._moving:
            latest = max(self._moving.values())
            for dev, (since, _) in list(self._moving.items()):
                if at.t - since > self._moving_limit(dev):
                    # "Moving" for longer than this sensor ever is: it will not say when it
                    # stops (or nobody is there to make it stop). Not a sign of life.
                    del self._moving[dev]
            if self._moving:
                # Someone is moving right now: the silence starts when the last sensor stops.
                room = max(self._moving.values())[1]
                self._last = last = _Last(at.t, at.local, room, last.context, last.device, last.kind)
                return out
            # Count the silence from the last report of movement, not from when we stopped trusting it.
            back = at.t - latest[0]
            self._last = last = _Last(latest[0], at.local - back, latest[1], last.context, last.device, last.kind)
        if last is None:
            if self._silence_from is None:
                self._silence_from = at
            return out
        out += self._check_silence(last, at)
        out += self._check_wake(last, at)
        return out

    def _check_silence(self, last: _Last, at: Stamp) -> list[Finding]:
        if self._raised is not None:
            return []
        s = self.s
        silence = at.t - last.t
        last_hour = int(_tod_min(last.local) // 60)
        dwell = last.room in s.dwell_rooms and not self._in_bed
        if dwell:
            floor, ceiling, default = s.dwell_floor_min * 60, s.dwell_ceiling_min * 60, 45 * 60.0
        elif last.context == "bed" or last.context.startswith("seat:") or s.is_night(last_hour):
            floor, ceiling, default = s.inactivity_floor_min * 60, s.sleep_ceiling_min * 60, 10 * 3600.0
        else:
            floor, ceiling, default = s.inactivity_floor_min * 60, s.inactivity_ceiling_min * 60, 3 * 3600.0
        if silence <= floor:
            return []
        limit = self.gaps.limit(last.context, last_hour, floor, ceiling, default)
        if silence <= limit.seconds or s.is_quiet(_tod_min(at.local) / 60.0):
            return []
        kind = "room_dwell" if dwell else "inactivity"
        self._raised = kind
        return [self._finding(kind, Severity.URGENT, at, INACTIVITY_KEY, last.room, {
            "silent_min": round(silence / 60, 1), "limit_min": round(limit.seconds / 60, 1),
            "learned_from": limit.samples, "learned": limit.learned, "last_sensor": last.device,
            "last_context": last.context, "last_seen_local": datetime.fromtimestamp(last.local, UTC).strftime("%H:%M"),
        })]

    def _check_wake(self, last: _Last, at: Stamp) -> list[Finding]:
        now_min = _tod_min(at.local)
        if self._wake_due is None or self._wake_due[0] != len(self.wake_times) + 1000 * self._day_number:
            learned = len(self.wake_times) >= MIN_WAKES
            latest = float(np.percentile(list(self.wake_times), 90)) if learned else DEFAULT_WAKE_MIN
            self._wake_due = (len(self.wake_times) + 1000 * self._day_number, latest + self.s.wake_margin_min,
                              learned, latest)
        _, due, learned, latest = self._wake_due
        if not due <= now_min < 14 * 60:
            return []
        date = _date(at.local)
        if self._no_wake_raised == date:
            return []
        # Still in the night's silence: nothing since before 04:00 today.
        midnight = at.local - now_min * 60
        if last.local >= midnight + 4 * 3600:
            return []
        self._no_wake_raised = date
        return [self._finding("no_wake", Severity.URGENT, at, f"no_wake:{date}", last.room, {
            "usual_latest_wake": f"{int(latest // 60):02d}:{int(latest % 60):02d}", "learned": learned,
            "margin_min": self.s.wake_margin_min, "silent_min": round((at.t - last.t) / 60, 1),
        })]

    def _roll_day(self, at: Stamp) -> list[Finding]:
        day_number = int(at.local // 86400)
        if self._day is not None and day_number == self._day_number:
            return []
        self._day_number = day_number
        date = _date(at.local)
        if self._day is None:
            self._day = Day(date)
            return []
        finished, self._day = self._day, Day(date)
        notices = self.routine.judge(finished)
        if not self.s.wellbeing_notices:
            return []
        return [self._finding("wellbeing", Severity.WELLBEING, at, f"wellbeing:{n['metric']}:{finished.date}", None,
                              {**n, "day": finished.date}) for n in notices]

    def _night_severity(self) -> Severity:
        return Severity.WELLBEING if self.s.night_door_severity == "wellbeing" else Severity.URGENT

    @staticmethod
    def _finding(kind: str, severity: Severity, at: Stamp, key: str, room: str | None, evidence: dict[str, Any],
                 state: FindingState = FindingState.RAISED) -> Finding:
        return Finding(type=kind, severity=severity, at=at, key=key, room=room, evidence=evidence, state=state)
