"""Home monitoring from the home's own sensors: inactivity, stuck in a room, no wake-up,
night wandering, and changes of routine. Pure: observations in, findings out.

Signs of life are any motion and any change of a door, bed, seat, toilet, cabinet,
fridge, appliance or light sensor (temperature is not a sign of life). Silence
is measured on the monotonic timeline (a clock jump at boot is not silence);
time of day comes from local time, and the time of day of the last sign of
life is read back from the monotonic silence, so a jump of the wall clock does
not make an old sign of life look like last night's. Ticks (every 30 s) let
silence be noticed; every limit is met on the last tick *before* it is passed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detection.events import Contact, Finding, FindingState, Motion, Observation, Presence, Severity, Stamp, Tick
from detection.home.gaps import GapModel, Limit, band_of, context_key, room_of
from detection.home.night import NightWatch
from detection.home.presence import RadarRooms
from detection.home.routine import Day, Routine
from detection.home.sensors import SensorTrust
from detection.home.settings import HomeSettings
from detection.home.waking import WakeWatch, WakingDay, night_from

STATE_VERSION = 3
NOT_ACTIVITY = {"temperature"}
ENTRANCE_ROOMS = {"entrance", "hall"}  # a door there can mean going out; any other door cannot
OCCUPANCY = ("bed", "seat")
MIN_WHOLE_DAY_S = 20 * 3600.0  # a day of the routine, on the monotonic clock (daylight saving: 23 or 25 h)
OCCUPANCY_GRACE_S = 60.0
VISITOR_ROOMS = 3  # motion in this many rooms within VISITOR_WINDOW_S: more than one person
VISITOR_WINDOW_S = 10.0
VISITOR_HOLD_S = 1800.0
INACTIVITY_KEY = "inactivity"
MIN_LEAVES_ROOM = 3  # long silences after a dwell-room sensor before it counts as "left the room"
TRUST_CHECK_S = 300.0
MAX_STEP_S = 60.0


def _date(local: float) -> str:
    return datetime.fromtimestamp(local, UTC).strftime("%Y-%m-%d")


def _tod_min(local: float) -> float:
    return (local % 86400.0) / 60.0


def _hhmm(local: float) -> str:
    return datetime.fromtimestamp(local, UTC).strftime("%H:%M")


@dataclass
class _Last:
    t: float
    local: float
    room: str
    context: str  # what the silence is held to: the sign of life's, or what a radar in its room says since
    device: str
    kind: str
    base: str = ""  # the sign of life's own context
    occupancy: str = ""
    radar: str = ""  # the radar whose view the context is, if any
    left: bool = False  # that radar saw the person leave the room


class HomeMonitor:
    name = "home"

    def __init__(self, settings: HomeSettings | None = None) -> None:
        self.s = settings or HomeSettings()
        self.gaps = GapModel()  # every silence, by the sign of life it followed (with or without radars)
        self.still = GapModel()  # how long a radar sees the person silent in a dwell room (presence.py)
        self.routine = Routine()
        self.trust = SensorTrust()
        self.night = NightWatch(self.s)
        self.radars = RadarRooms(frozenset(r for r, m in self.s.radar_still_min if m <= 0), self.s.dwell_rooms)
        self._still_fixed = {r: m * 60.0 for r, m in self.s.radar_still_min if m > 0}
        self.wake = WakeWatch(self.s)
        self.wake_times = self.wake.times
        self._last: _Last | None = None
        self._occupied: dict[str, tuple[str, str, float]] = {}  # bed/seat -> (device, room) while trusted and believed
        self._door_t: float | None = None
        self._away_since: float | None = None
        self._raised: str | None = None  # type of the open inactivity/dwell finding
        self._visitors_until = -1.0
        self._recent_rooms: deque[tuple[float, str]] = deque(maxlen=16)
        self._day: Day | None = None
        self._day_number = -1
        self._day_start_t = 0.0
        self._day_whole = False  # began at a day change and saw only a synced clock
        self._prev_tick: float | None = None
        self._came_from = ""  # room of the last sign of life from another sensor
        self.waking = WakingDay(self.s)
        self._rails_for: tuple[tuple[str, int, bool, tuple[bool, bool]], tuple[float, float, float, bool]] | None = None
        self._shortest_floor = 60 * min(self.s.inactivity_floor_min, self.s.dwell_floor_min,
                                        self.s.still_floor_min, *(m for _, m in self.s.radar_still_min if m > 0))
        self._step = 30.0
        self._trust_checked = -1e18

    # --- detector protocol ------------------------------------------------------

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            return self._tick(obs.at)
        if isinstance(obs, Motion):
            return self._activity(obs, "motion", obs.active)
        if isinstance(obs, Contact) and obs.kind not in NOT_ACTIVITY:
            return self._activity(obs, obs.kind, obs.active)
        if isinstance(obs, Presence):
            if self.radars.report(obs.device, obs.room or "other", obs.state, obs.distance_m, obs.at.t):
                return self._activity(obs, "motion", True)  # the radar saw movement: a sign of life
            self._locate(obs.at.t)
        return []

    def snapshot(self) -> dict[str, Any] | None:
        return {"version": STATE_VERSION, "gaps": self.gaps.snapshot(), "still_gaps": self.still.snapshot(),
                "routine": self.routine.snapshot(), "wake_times": list(self.wake_times), **self.night.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            return  # an older format: start learning afresh rather than misread it
        self.gaps.restore(state.get("gaps", {"contexts": [], "silences": []}))
        self.still.restore(state.get("still_gaps", {"contexts": [], "silences": []}))
        self.routine.restore(state.get("routine", []))
        self.wake_times.clear()
        self.wake_times.extend(float(w) for w in state.get("wake_times", []))
        self.night.restore(state)

    def learning(self, local_hour: int) -> dict[str, Any]:
        """Per context: silences learned and the limit that applies now; for health and the page."""
        out = []
        for model in (self.gaps, self.still):  # silences, and the stillness radars saw in the dwell rooms
            keys = {c.split("#", 1)[0]: c for _, c, _, _ in model.gaps}
            for row in model.summary():
                if (key := keys.get(str(row["context"]))) is None:
                    continue
                floor, ceiling, default, _ = self._rails(key, local_hour, live=False)
                lim = model.limit(key, local_hour, floor, ceiling, default)
                out.append(row | {"limit_min": round(lim.seconds / 60, 1), "learned": lim.learned})
        out.sort(key=lambda r: (-int(r["silences"]), str(r["context"])))  # type: ignore[call-overload]
        return {"days_learned": self.gaps.days(), "learning": not any(r["learned"] for r in out),
                "wake_ups_learned": len(self.wake_times), "contexts": out}

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
        for c in self.trust.heard(obs.device, kind, room, active, at.t):
            out.append(c.finding(at))
        entrance_door = kind == "door" and room in ENTRANCE_ROOMS

        if prev is not None:
            gap = at.t - prev.t
            if not visitors:
                self.gaps.record(prev.base, int(_tod_min(prev.local) // 60), gap, int(prev.local // 86400))
                self._still_ended(prev, at.t)
            self.wake.rest("|bed" in prev.base, prev.local, at.local, gap, day)
        if self._raised is not None:
            out.append(self._finding(self._raised, Severity.URGENT, at, INACTIVITY_KEY, room,
                                     {"reason": f"{kind} in {room}"}, FindingState.CLEARED))
            self._raised = None
        if self.wake.raised is not None:
            out.append(self._finding("no_wake", Severity.URGENT, at, f"no_wake:{self.wake.raised}", room,
                                     {"reason": f"{kind} in {room}"}, FindingState.CLEARED))
            self.wake.raised = None

        if entrance_door:
            self.night.door(at, hour, self._away_since is not None)
            self._door_t = at.t
        else:
            if self._away_since is not None:
                day.away_s += at.t - self._away_since
                self._away_since = None
            self._door_t = None
            out += self.night.inside(at, room, kind)

        # One person: a sign of life in another room means nobody is in that bed or chair, whatever it says.
        # (Not within a minute of sitting down: a hall sensor's hold time ends after the person sat.)
        for what, (_, where, since) in list(self._occupied.items()):
            if where != room and at.t - since > OCCUPANCY_GRACE_S:
                del self._occupied[what]
        if kind in OCCUPANCY:
            if active and self.trust.trusted(obs.device):
                self._occupied[kind] = (obs.device, room, at.t)
            elif not active:
                self._occupied.pop(kind, None)
            if kind == "bed":
                out += self.night.bed(at, hour, active, self.trust.trusted(obs.device))
        occupancy = "bed" if "bed" in self._occupied else ("seat" if "seat" in self._occupied else "")
        # Where was the person before this sensor spoke: the last sign of life from another sensor.
        before = prev.room if prev is not None and prev.device != obs.device else self._came_from
        if prev is not None and prev.device != obs.device:
            self._came_from = prev.room
        context = context_key(obs.device, kind, int(active), occupancy, room, arrived=bool(before) and before != room)
        self.radars.sign_of_life(room)

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
        self._last = _Last(at.t, at.local, room, context, obs.device, kind, context, occupancy)
        self._locate(at.t)
        return out

    def _locate(self, t: float) -> None:
        """The silence's context from what the radars say now: here, left, or nothing (presence.py)."""
        if (last := self._last) is not None:
            context, last.radar, last.left = self.radars.context(last.room, last.base, last.occupancy, last.t)
            if context != last.context:
                self._still_ended(last, t)  # the radar saw the person go, or stopped seeing them
                last.context = context

    def _still_ended(self, last: _Last, t: float) -> None:  # movement, or gone: learn how long it was
        if "#~presence." in last.context and not self._visitors_until > t:
            self.still.record(last.context, int(_tod_min(last.local) // 60), t - last.t, int(last.local // 86400))

    # --- time passing -----------------------------------------------------------

    def _tick(self, at: Stamp) -> list[Finding]:
        out = self._roll_day(at)
        s = self.s
        if self._prev_tick is not None and at.t > self._prev_tick:
            self._step = min(MAX_STEP_S, at.t - self._prev_tick)
        self._prev_tick = at.t
        for radar in self.radars.settled(at.t):
            out += self._activity(Presence(device=radar, at=at, room=self.radars.room(radar)), "motion", True)
        if at.t - self._trust_checked >= TRUST_CHECK_S:
            self._trust_checked = at.t
            for c in self.trust.tick(at.t):
                if c.raised and c.type == "sensor_stuck":
                    for what, (dev, _, _) in list(self._occupied.items()):
                        if dev == c.device:
                            del self._occupied[what]
                out.append(c.finding(at))
        if self._door_t is not None and at.t - self._door_t >= s.away_after_min * 60:
            # Out of the front door, unless a radar sees someone inside (a collapse just inside the door).
            self._away_since = None if self.radars.anyone_here() else self._door_t
            self._door_t = None
        out += self.night.tick(at, self._last.room if self._last else None, self._away_since is not None)
        last = self._last
        if last is None:
            return out
        out += self._check_silence(last, at)
        if self._away_since is None:
            out += self._check_wake(last, at)
        return out

    def _rails(self, context: str, hour: int, live: bool = True) -> tuple[float, float, float, bool]:
        """(floor, ceiling, default, dwell) for a silence that began in ``context`` at ``hour``."""
        s = self.s
        occupied = "|bed" in context or "|seat" in context
        # Not when a radar sees someone inside after the door: a collapse just inside it, not an outing.
        front_door = "#~door:" in context and room_of(context) in ENTRANCE_ROOMS and not (
            live and self.radars.anyone_here())
        if front_door or (live and self._away_since is not None):
            return s.inactivity_floor_min * 60, s.away_ceiling_min * 60, s.away_ceiling_min * 60, False
        if "#~presence." in context and room_of(context) in s.dwell_rooms and not occupied:
            # Someone the radar sees, not moving, in the bathroom: sooner than silence, within physical rails.
            return s.still_floor_min * 60, s.still_ceiling_min * 60, s.still_ceiling_min * 60, True
        gone = live and self._last is not None and self._last.left and context == self._last.context
        if room_of(context) in s.dwell_rooms and not occupied and not gone:
            return s.dwell_floor_min * 60, s.dwell_ceiling_min * 60, 45 * 60.0, True
        if "|bed" in context or s.is_night(hour):
            return s.inactivity_floor_min * 60, s.sleep_ceiling_min * 60, 10 * 3600.0, False
        # By day the learned limit may run into the night (an early night without a bed mat); the
        # daytime bound in _check_silence is what stops a day context from waiting past the day ceiling.
        return s.inactivity_floor_min * 60, s.sleep_ceiling_min * 60, 3 * 3600.0, False

    def _daytime_silence(self, start_local: float, end_local: float, to_bed: bool) -> float:
        """Seconds of [start, end] in the waking day (detection/home/waking.py)."""
        s = self.s
        day_from = max(float(s.night_end_hour * 60), self.wake.due_min())
        # Last seen in bed or in the bedroom: gone to bed, whatever time this person usually does.
        asleep = s.night_start_hour * 60.0 if to_bed else night_from(
            s, (float(b) for h in self.routine.history if (b := h.get("bed_min")) is not None))
        return self.waking.seconds(start_local, end_local, day_from, asleep)

    def _check_silence(self, last: _Last, at: Stamp) -> list[Finding]:
        if self._raised is not None:
            return []
        s = self.s
        silence = at.t - last.t
        due = silence + self._step  # raise on the last tick before the limit is passed
        if due <= self._shortest_floor:
            return []
        key = (last.context, int(_tod_min(last.local) // 60), self._away_since is not None,
               (last.left, self.radars.anyone_here()))
        if self._rails_for is None or self._rails_for[0] != key:
            self._rails_for = (key, self._rails(key[0], key[1]))
        floor, ceiling, default, dwell = self._rails_for[1]
        here = last.radar != "" and not last.left
        fixed = self._still_fixed.get(last.radar) if here else None
        if due <= min(floor if fixed is None else fixed, s.inactivity_ceiling_min * 60) or (
                here and silence < 60 and self.radars.moving(last.radar)):  # moving now (a stale report: no)
            return []
        last_hour = int(_tod_min(last.local) // 60)
        model = self.still if "#~presence." in last.context else self.gaps
        limit = Limit(fixed, 0, True) if fixed is not None else model.limit(
            last.context, last_hour, floor, ceiling, default)
        seconds, kind = limit.seconds, "room_dwell" if dwell else "inactivity"
        why = "learned limit" if fixed is None else "radar still_alert_min"
        if model is self.still and fixed is None:
            # Never later than silence alone; as silence alone if stillness there often runs long (baths, ghosts).
            raw = model.raw(last.context, last_hour)
            b_floor, b_ceiling, b_default, b_dwell = self._rails(last.base, last_hour)
            base = self.gaps.limit(last.base, last_hour, b_floor, b_ceiling, b_default)
            if limit.long_ones >= MIN_LEAVES_ROOM and raw is not None and raw[0] > ceiling:
                seconds, kind, why = base.seconds, "room_dwell" if b_dwell else "inactivity", "learned limit, no radar"
            seconds = min(seconds, base.seconds)
        elif fixed is None and dwell and limit.learned and limit.long_ones >= MIN_LEAVES_ROOM:
            # This home's history says the person usually leaves the room silently after this sensor.
            raw = model.raw(last.context, last_hour)
            if raw is not None and raw[0] > ceiling:
                # Back to bed after the night's visit, or on into the day: that silence's own ceiling.
                cap = s.sleep_ceiling_min if s.is_night(last_hour) else s.inactivity_ceiling_min
                seconds, kind = min(cap * 60, raw[0]), "inactivity"
        hit = due > seconds
        away = self._away_since is not None
        bound = s.away_ceiling_min * 60 if away else s.inactivity_ceiling_min * 60
        if not hit and due > bound:
            # Whatever state is believed (asleep, seated, in bed by day), daytime silence is bounded.
            start_local = at.local - silence
            to_bed = "|bed" in last.context or room_of(last.context) == "bedroom"
            hit = self._daytime_silence(start_local, at.local + self._step, to_bed) > bound
            if hit:
                seconds, why = bound, "daytime bound"
        if not hit or s.is_quiet(_tod_min(at.local) / 60.0):
            return []
        self._raised = kind
        evidence = {
            "silent_min": round(silence / 60, 1), "limit_min": round(seconds / 60, 1), "why": why,
            "learned_from": limit.samples, "learned": limit.learned, "last_sensor": last.device,
            "last_context": last.context.split("#", 1)[0], "band": band_of(last_hour), "away": away,
            "last_seen_local": _hhmm(at.local - silence),
        }
        if last.radar:
            # Seen by a radar: there and not moving ("here"), or gone from the room ("left").
            evidence |= {"source": "radar", "radar_says": "here" if here else "left", **self.radars.view(last.radar)}
        return [self._finding(kind, Severity.URGENT, at, INACTIVITY_KEY, room_of(last.context), evidence,
                              device=last.radar or None)]

    def _check_wake(self, last: _Last, at: Stamp) -> list[Finding]:
        found = self.wake.check(self._day_number, last.t, at)
        if found is None:
            return []
        date, evidence = found
        return [self._finding("no_wake", Severity.URGENT, at, f"no_wake:{date}", last.room, evidence)]

    def _roll_day(self, at: Stamp) -> list[Finding]:
        day_number = int(at.local // 86400)
        if self._day is not None and day_number == self._day_number:
            self._day_whole = self._day_whole and at.synced
            return []
        # Judged (and learned from) only a whole day: one that began at the previous day change,
        # lasted about a day on the monotonic clock and saw only a synced wall clock. A clock that
        # NTP moved, or had not set yet (a boot in 1970), makes up "days" of minutes, or one twice.
        whole = (self._day is not None and self._day_whole and at.synced
                 and day_number == self._day_number + 1 and at.t - self._day_start_t >= MIN_WHOLE_DAY_S)
        started_whole = self._day is not None and day_number == self._day_number + 1
        self._day_number, self._day_start_t, self._day_whole = day_number, at.t, started_whole and at.synced
        date = _date(at.local)
        if self._day is None:
            self._day = Day(date)
            return []
        finished, self._day = self._day, Day(date)
        if not whole:
            return []
        notices = self.routine.judge(finished)
        if not self.s.wellbeing_notices:
            return []
        return [self._finding("wellbeing", Severity.WELLBEING, at, f"wellbeing:{n['metric']}:{finished.date}", None,
                              {**n, "day": finished.date}) for n in notices]

    @staticmethod
    def _finding(kind: str, severity: Severity, at: Stamp, key: str, room: str | None, evidence: dict[str, Any],
                 state: FindingState = FindingState.RAISED, device: str | None = None) -> Finding:
        return Finding(type=kind, severity=severity, at=at, key=key, room=room, evidence=evidence, state=state,
                       device=device)
