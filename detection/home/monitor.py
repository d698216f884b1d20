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

from detection.events import Contact, Finding, FindingState, Motion, Observation, Severity, Stamp, Tick
from detection.home.gaps import GapModel, band_of, context_key, room_of
from detection.home.night import NightWatch
from detection.home.routine import Day, Routine
from detection.home.sensors import SensorTrust
from detection.home.settings import HomeSettings

STATE_VERSION = 3
NOT_ACTIVITY = {"temperature"}
ENTRANCE_ROOMS = {"entrance", "hall"}  # a door there can mean going out; any other door cannot
OCCUPANCY = ("bed", "seat")
MIN_WHOLE_DAY_S = 20 * 3600.0  # a day of the routine, on the monotonic clock (daylight saving: 23 or 25 h)
OCCUPANCY_GRACE_S = 60.0
LONG_REST_S = 3 * 3600.0
VISITOR_ROOMS = 3  # motion in this many rooms within VISITOR_WINDOW_S: more than one person
VISITOR_WINDOW_S = 10.0
VISITOR_HOLD_S = 1800.0
DEFAULT_WAKE_MIN = 9 * 60.0  # before any wake-up has been learned
MIN_WAKES = 5
LATEST_NIGHT_MIN = 26 * 60.0  # 02:00: a night that begins later than this is not a night's sleep
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
    context: str
    device: str
    kind: str


class HomeMonitor:
    name = "home"

    def __init__(self, settings: HomeSettings | None = None) -> None:
        self.s = settings or HomeSettings()
        self.gaps = GapModel()
        self.routine = Routine()
        self.trust = SensorTrust()
        self.night = NightWatch(self.s)
        self.wake_times: deque[float] = deque(maxlen=21)
        self._last: _Last | None = None
        self._occupied: dict[str, tuple[str, str, float]] = {}  # bed/seat -> (device, room) while trusted and believed
        self._door_t: float | None = None
        self._away_since: float | None = None
        self._raised: str | None = None  # type of the open inactivity/dwell finding
        self._no_wake_raised: str | None = None  # date
        self._visitors_until = -1.0
        self._recent_rooms: deque[tuple[float, str]] = deque(maxlen=16)
        self._day: Day | None = None
        self._day_number = -1
        self._day_start_t = 0.0
        self._day_whole = False  # began at a day change and saw only a synced clock
        self._wake_due: tuple[int, float, bool, float] | None = None  # (n wakes, due, learned, latest)
        self._prev_tick: float | None = None
        self._came_from = ""  # room of the last sign of life from another sensor
        self._daytime_cache: tuple[tuple[float, float, float], float, float] | None = None
        self._rails_for: tuple[tuple[str, int, bool], tuple[float, float, float, bool]] | None = None
        self._shortest_floor = 60 * min(self.s.inactivity_floor_min, self.s.dwell_floor_min)
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
        return []

    def snapshot(self) -> dict[str, Any] | None:
        return {"version": STATE_VERSION, "gaps": self.gaps.snapshot(), "routine": self.routine.snapshot(),
                "wake_times": list(self.wake_times), **self.night.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            return  # an older format: start learning afresh rather than misread it
        self.gaps.restore(state.get("gaps", {"contexts": [], "silences": []}))
        self.routine.restore(state.get("routine", []))
        self.wake_times.clear()
        self.wake_times.extend(float(w) for w in state.get("wake_times", []))
        self.night.restore(state)

    def learning(self, local_hour: int) -> dict[str, Any]:
        """Per context: silences learned and the limit that applies now; for health and the page."""
        keys = {c.split("#", 1)[0]: c for _, c, _, _ in self.gaps.gaps}
        out = []
        for row in self.gaps.summary():
            key = keys.get(str(row["context"]))
            if key is None:
                continue
            floor, ceiling, default, _ = self._rails(key, local_hour, live=False)
            lim = self.gaps.limit(key, local_hour, floor, ceiling, default)
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
            out.append(self._trust_finding(c, at))
        entrance_door = kind == "door" and room in ENTRANCE_ROOMS

        if prev is not None:
            gap = at.t - prev.t
            if not visitors:
                self.gaps.record(prev.context, int(_tod_min(prev.local) // 60), gap, int(prev.local // 86400))
            self._note_rest(prev, at, gap, day)
        if self._raised is not None:
            out.append(self._finding(self._raised, Severity.URGENT, at, INACTIVITY_KEY, room,
                                     {"reason": f"{kind} in {room}"}, FindingState.CLEARED))
            self._raised = None
        if self._no_wake_raised is not None:
            out.append(self._finding("no_wake", Severity.URGENT, at, f"no_wake:{self._no_wake_raised}", room,
                                     {"reason": f"{kind} in {room}"}, FindingState.CLEARED))
            self._no_wake_raised = None

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
        return out

    def _note_rest(self, prev: _Last, at: Stamp, gap: float, day: Day) -> None:
        """A long silence that began in bed or in the evening and ended in the morning is a night's sleep."""
        start_h = _tod_min(prev.local) / 60.0
        evening = start_h >= 19 or start_h < 4
        wake_min = _tod_min(at.local)
        if gap >= LONG_REST_S and ("|bed" in prev.context or evening) and 4 * 60 <= wake_min < 13 * 60:
            day.wake_min = wake_min
            # Minutes after the evening's midnight-before: 00:10 is 1450, so that 23:50 and 00:10 are close.
            day.bed_min = (_tod_min(prev.local) - 720.0) % 1440.0 + 720.0
            self.wake_times.append(wake_min)

    # --- time passing -----------------------------------------------------------

    def _tick(self, at: Stamp) -> list[Finding]:
        out = self._roll_day(at)
        s = self.s
        if self._prev_tick is not None and at.t > self._prev_tick:
            self._step = min(MAX_STEP_S, at.t - self._prev_tick)
        self._prev_tick = at.t
        if at.t - self._trust_checked >= TRUST_CHECK_S:
            self._trust_checked = at.t
            for c in self.trust.tick(at.t):
                if c.raised and c.type == "sensor_stuck":
                    for what, (dev, _, _) in list(self._occupied.items()):
                        if dev == c.device:
                            del self._occupied[what]
                out.append(self._trust_finding(c, at))
        if self._door_t is not None and at.t - self._door_t >= s.away_after_min * 60:
            self._away_since, self._door_t = self._door_t, None
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
        front_door = "#~door:" in context and room_of(context) in ENTRANCE_ROOMS
        if front_door or (live and self._away_since is not None):
            return s.inactivity_floor_min * 60, s.away_ceiling_min * 60, s.away_ceiling_min * 60, False
        if room_of(context) in s.dwell_rooms and not occupied:
            return s.dwell_floor_min * 60, s.dwell_ceiling_min * 60, 45 * 60.0, True
        if "|bed" in context or s.is_night(hour):
            return s.inactivity_floor_min * 60, s.sleep_ceiling_min * 60, 10 * 3600.0, False
        # By day the learned limit may run into the night (an early night without a bed mat); the
        # daytime bound in _check_silence is what stops a day context from waiting past the day ceiling.
        return s.inactivity_floor_min * 60, s.sleep_ceiling_min * 60, 3 * 3600.0, False

    def _asleep_from(self) -> float:
        """When this person's night begins, in minutes after midnight (past 1440: after the next midnight):
        the night hours' start, or later for someone who usually goes to bed later (90th percentile of
        the learned bed times, at most 02:00), so that an evening collapse is not taken for the night."""
        start = self.s.night_start_hour * 60.0
        if self.s.night_start_hour < self.s.night_end_hour:
            return start  # an unusual "night" by day: take it as configured
        beds = sorted(float(b) for h in self.routine.history if (b := h.get("bed_min")) is not None)
        if len(beds) < MIN_WAKES:
            return start
        latest = beds[min(len(beds) - 1, int(0.9 * len(beds)))]
        return max(start, min(LATEST_NIGHT_MIN, latest))

    def _daytime_silence(self, start_local: float, end_local: float, to_bed: bool) -> float:
        """Seconds of [start, end] in the waking day: outside the night hours, and on a morning after the
        night, from the time no_wake is due (until then a late riser is asleep, and no_wake watches)."""
        s = self.s
        day_from = max(float(s.night_end_hour * 60), self._wake_due[1] if self._wake_due else DEFAULT_WAKE_MIN)
        start_tod = _tod_min(start_local)
        if not s.is_night(start_tod / 60.0) and start_tod >= s.night_end_hour * 60:
            # Up and about when the silence began: that day's waking day began already.
            day_from_first = s.night_end_hour * 60.0
        else:
            day_from_first = day_from
        first_day = start_local // 86400
        # Last seen in bed or in the bedroom: gone to bed, whatever time this person usually does.
        asleep = self.s.night_start_hour * 60.0 if to_bed else self._asleep_from()
        total, t = 0.0, start_local
        cached = self._daytime_cache
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
        self._daytime_cache = (rules, end_local, total)
        return total

    def _check_silence(self, last: _Last, at: Stamp) -> list[Finding]:
        if self._raised is not None:
            return []
        s = self.s
        silence = at.t - last.t
        due = silence + self._step  # raise on the last tick before the limit is passed
        if due <= self._shortest_floor:
            return []
        key = (last.context, int(_tod_min(last.local) // 60), self._away_since is not None)
        if self._rails_for is None or self._rails_for[0] != key:
            self._rails_for = (key, self._rails(key[0], key[1]))
        floor, ceiling, default, dwell = self._rails_for[1]
        if due <= min(floor, s.inactivity_ceiling_min * 60):
            return []
        last_hour = int(_tod_min(last.local) // 60)
        limit = self.gaps.limit(last.context, last_hour, floor, ceiling, default)
        seconds, kind, why = limit.seconds, "room_dwell" if dwell else "inactivity", "learned limit"
        if dwell and limit.learned and limit.long_ones >= MIN_LEAVES_ROOM:
            # This home's history says the person usually leaves the room silently after this sensor.
            raw = self.gaps.raw(last.context, last_hour)
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
        return [self._finding(kind, Severity.URGENT, at, INACTIVITY_KEY, last.room, {
            "silent_min": round(silence / 60, 1), "limit_min": round(seconds / 60, 1), "why": why,
            "learned_from": limit.samples, "learned": limit.learned, "last_sensor": last.device,
            "last_context": last.context.split("#", 1)[0], "band": band_of(last_hour), "away": away,
            "last_seen_local": _hhmm(at.local - silence),
        })]

    def _check_wake(self, last: _Last, at: Stamp) -> list[Finding]:
        now_min = _tod_min(at.local)
        if self._wake_due is None or self._wake_due[0] != len(self.wake_times) + 1000 * self._day_number:
            learned = len(self.wake_times) >= MIN_WAKES
            ws = sorted(self.wake_times)
            latest = ws[min(len(ws) - 1, int(0.9 * len(ws)))] if learned else DEFAULT_WAKE_MIN
            self._wake_due = (len(self.wake_times) + 1000 * self._day_number, latest + self.s.wake_margin_min,
                              learned, latest)
        _, due, learned, latest = self._wake_due
        if not due <= now_min < 14 * 60:
            return []
        date = _date(at.local)
        if self._no_wake_raised == date:
            return []
        # Still in the night's silence: nothing since before 04:00 today, on today's clock
        # (the last sign of life's own wall-clock stamp may predate a jump of the clock).
        midnight = at.local - now_min * 60
        if at.local - (at.t - last.t) >= midnight + 4 * 3600:
            return []
        self._no_wake_raised = date
        return [self._finding("no_wake", Severity.URGENT, at, f"no_wake:{date}", last.room, {
            "usual_latest_wake": f"{int(latest // 60):02d}:{int(latest % 60):02d}", "learned": learned,
            "margin_min": self.s.wake_margin_min, "silent_min": round((at.t - last.t) / 60, 1),
        })]

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

    def _trust_finding(self, c: Any, at: Stamp) -> Finding:
        return Finding(type=c.type, severity=Severity.TECHNICAL, at=at, key=f"{c.type}:{c.device}", device=c.device,
                       room=c.room, evidence=c.evidence,
                       state=FindingState.RAISED if c.raised else FindingState.CLEARED)

    @staticmethod
    def _finding(kind: str, severity: Severity, at: Stamp, key: str, room: str | None, evidence: dict[str, Any],
                 state: FindingState = FindingState.RAISED) -> Finding:
        return Finding(type=kind, severity=severity, at=at, key=key, room=room, evidence=evidence, state=state)
