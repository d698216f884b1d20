"""Synthetic homes: a person's days as room sensors see them, in the home-log format (B).

A day: waking (with seasonal drift), bathroom, breakfast, mornings in the
living room or out shopping, lunch, an afternoon nap in the armchair on some
days, visitors now and then, dinner, television, bed, and a bathroom visit or
two at night. Sensors: a PIR per room (interval-style: 1 when movement starts,
0 when it ends), bed and seat pressure, toilet flush, fridge, entrance door.
Injections: a collapse (all events stop), a fall in the bathroom, a missed
morning (stays in bed until noon), restless nights.

Kinds of home (``KINDS``), so that development meets what unseen homes show:
``standard`` (the sensors above), ``motion`` (a PIR in every room that only
says "movement", with a hold time, and the front door; no mats), ``contacts``
(doors of every room, cupboards, fridge and flush; no motion sensor),
``mats`` (PIRs with bed and seat mats), ``stuck`` (as ``mats``, but a bed
mat that now and then stays "occupied" for days and a seat that sticks for
hours) and ``radar`` (the ``motion`` home with a presence radar in the
bathroom, the bedroom and the living room, kind ``presence``: 1 while someone
is in its field, moving or not, 0 when nobody is; any kind can have the radars,
``generate(radars=True)``). Every kind has naps in the armchair and in bed, long
television evenings with hardly a movement, and visitors.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SENSORS = {
    "pir_bedroom": ("bedroom", "motion"), "pir_bathroom": ("bathroom", "motion"),
    "pir_kitchen": ("kitchen", "motion"), "pir_living": ("living", "motion"),
    "pir_hall": ("entrance", "motion"), "bed": ("bedroom", "bed"), "seat": ("living", "seat"),
    "toilet": ("bathroom", "toilet_flush"), "fridge": ("kitchen", "fridge"), "door": ("entrance", "door"),
    "door_bathroom": ("bathroom", "door"), "door_bedroom": ("bedroom", "door"), "door_kitchen": ("kitchen", "door"),
    "door_living": ("living", "door"),
    "cupboard": ("kitchen", "cabinet"), "cabinet_bathroom": ("bathroom", "cabinet"),
    "radar_bathroom": ("bathroom", "presence"), "radar_bedroom": ("bedroom", "presence"),
    "radar_living": ("living", "presence"),
}
KINDS = ("standard", "motion", "contacts", "mats", "stuck", "radar")
RADARS = {room: sid for sid, (room, kind) in SENSORS.items() if kind == "presence"}
RADAR_ARRIVE_S = 2.0  # a radar sees the person a moment after they come in ...
RADAR_HOLD_S = 5.0  # ... and says "nobody" this long after they left (the LD2410's default hold)
RADAR_GAP_S = 45.0  # out of the room for less than this (into bed from the landing): still "someone"
_KIND_SENSORS = {
    "standard": {"pir_bedroom", "pir_bathroom", "pir_kitchen", "pir_living", "pir_hall", "bed", "seat", "toilet",
                 "fridge", "door"},
    "motion": {"pir_bedroom", "pir_bathroom", "pir_kitchen", "pir_living", "pir_hall", "door"},
    "contacts": {"door", "door_bathroom", "door_bedroom", "door_kitchen", "door_living", "cupboard",
                 "cabinet_bathroom", "toilet", "fridge"},
    "mats": {"pir_bathroom", "pir_kitchen", "pir_hall", "bed", "seat", "toilet", "fridge", "door"},
}
_KIND_SENSORS["stuck"] = _KIND_SENSORS["mats"]
_KIND_SENSORS["radar"] = _KIND_SENSORS["motion"]  # radar: the motion home, with radars (generate(radars=...))
ROOM_DOOR = {"bathroom": "door_bathroom", "bedroom": "door_bedroom", "kitchen": "door_kitchen",
             "living": "door_living"}
PIR = {room: sid for sid, (room, kind) in SENSORS.items() if kind == "motion"}


@dataclass(frozen=True)
class HomeEvent:
    local: float  # seconds, local time read as UTC
    sensor: str
    room: str
    kind: str
    state: int


@dataclass(frozen=True)
class Injection:
    kind: str  # collapse, bathroom_fall, missed_morning, restless_nights
    day: int  # 0-based day of the simulation


class _Day:
    def __init__(self, rng: random.Random, midnight: float) -> None:
        self.rng = rng
        self.midnight = midnight
        self.events: list[HomeEvent] = []
        self.activities: list[tuple[float, float, str]] = []
        self.where: list[tuple[float, str]] = []  # (from when, the room the person is in): what a radar sees

    def move(self, t: float, room: str) -> None:
        self.where.append((t, room))

    def at(self, hours: float) -> float:
        return self.midnight + hours * 3600

    def emit(self, t: float, sensor: str, state: int) -> None:
        room, kind = SENSORS[sensor]
        self.events.append(HomeEvent(t, sensor, room, kind, state))

    def stay(self, room: str, start: float, end: float, *, still: bool = False, resident: bool = True) -> None:
        """Movement in ``room`` from start to end: PIR intervals, sparser when sitting still."""
        if resident:
            self.move(start, room)
            self.move(end, "hall")
        t = start
        pir = PIR[room]
        while t < end:
            on = self.rng.uniform(20, 120) if not still else self.rng.uniform(5, 30)
            self.emit(t, pir, 1)
            self.emit(min(end, t + on), pir, 0)
            t += on + (self.rng.uniform(30, 240) if not still else self.rng.uniform(600, 2400))

    def visit(self, room: str, start: float, minutes: float, label: str, still: bool = False) -> float:
        end = start + minutes * 60
        self.move(start + 3, room)
        if room in ("kitchen", "bathroom", "living", "bedroom"):
            self.emit(start, PIR["entrance"], 1)
            self.emit(start + 5, PIR["entrance"], 0)
        if room in ROOM_DOOR:
            self.emit(start + 3, ROOM_DOOR[room], 1)
            self.emit(start + 8, ROOM_DOOR[room], 0)
            self.emit(end - 8, ROOM_DOOR[room], 1)
            self.emit(end - 3, ROOM_DOOR[room], 0)
        if room == "bathroom" and self.rng.random() < 0.5:
            t = self.rng.uniform(start + 10, max(start + 10, end - 40))
            self.emit(t, "cabinet_bathroom", 1)
            self.emit(t + self.rng.uniform(3, 20), "cabinet_bathroom", 0)
        self.stay(room, start + 10, end, still=still)
        if room == "bathroom" and self.rng.random() < 0.8:
            self.emit(end - 60, "toilet", 1)
            self.emit(end - 50, "toilet", 0)
        if room == "kitchen":
            inside = (start + 10, max(start + 10, end - 60))  # between coming in and going out
            for _ in range(self.rng.randint(1, 3)):
                t = self.rng.uniform(*inside)
                self.emit(t, "fridge", 1)
                self.emit(t + self.rng.uniform(5, 40), "fridge", 0)
            for _ in range(self.rng.randint(1, 4)):
                t = self.rng.uniform(*inside)
                self.emit(t, "cupboard", 1)
                self.emit(t + self.rng.uniform(3, 30), "cupboard", 0)
        self.activities.append((start, end, label))
        return end


def _sit(d: _Day, t: float, until: float, label: str, still: bool = True) -> float:
    """Sitting in the living room until ``until``, hardly moving, up every hour or two for the
    bathroom or the kitchen (getting up from the seat and sitting down again)."""
    rng = d.rng
    while True:
        stop = min(until, t + rng.uniform(45, 150) * 60)
        d.visit("living", t, max(5.0, (stop - t) / 60), label, still=still)
        if stop >= until - 600:
            return max(stop, t + 300)
        d.emit(stop, "seat", 0)
        back = d.visit(rng.choice(("bathroom", "kitchen")), stop + 20, rng.uniform(2, 8), "toileting")
        d.emit(back + 20, "seat", 1)
        t = back + 20


def _day(rng: random.Random, midnight: float, index: int, restless: bool, missed: bool) -> _Day:
    d = _Day(rng, midnight)
    drift_h = 0.5 * (index / 90)  # later mornings as the season turns
    wake = d.at(rng.gauss(7.0, 0.3) + drift_h)
    if missed:
        wake = d.at(12.0)
    d.emit(wake, "bed", 0)
    t = d.visit("bedroom", wake, rng.uniform(3, 10), "dressing")
    t = d.visit("bathroom", t, rng.uniform(8, 20), "toileting")
    t = d.visit("kitchen", t, rng.uniform(15, 30), "breakfast")
    if rng.random() < 0.45 and not missed:  # out shopping
        t = d.visit("living", t, rng.uniform(20, 60), "living")
        d.emit(t, "door", 1)
        d.emit(t + 8, "door", 0)
        d.move(t + 8, "out")
        back = t + rng.uniform(60, 180) * 60
        d.activities.append((t, back, "leaving"))
        d.emit(back, "door", 1)
        d.emit(back + 8, "door", 0)
        t = back + 30
    t = _sit(d, t, d.at(12.4), "living", still=False)
    t = d.visit("kitchen", t, rng.uniform(25, 45), "lunch")
    t = d.visit("bathroom", t, rng.uniform(3, 8), "toileting")
    d.emit(t + 20, "seat", 1)
    if rng.random() < 0.5:  # a nap in the armchair
        nap_end = t + rng.uniform(40, 80) * 60
        d.stay("living", t, nap_end, still=True)
        d.activities.append((t, nap_end, "napping"))
        t = nap_end
    elif rng.random() < 0.25:  # or a nap in bed
        d.emit(t, "seat", 0)
        t = d.visit("bedroom", t, 2, "going to bed")
        d.emit(t, "bed", 1)
        d.move(t, "bedroom")
        nap_end = t + rng.uniform(60, 120) * 60
        d.activities.append((t, nap_end, "napping in bed"))
        d.emit(nap_end, "bed", 0)
        t = d.visit("bedroom", nap_end, 3, "dressing")
        d.emit(t + 20, "seat", 1)
    if rng.random() < 0.12:  # visitors: two people moving about
        end = t + rng.uniform(60, 120) * 60
        d.move(t, "living")
        for room in ("living", "kitchen", "entrance"):
            d.stay(room, t, end, resident=False)
        d.activities.append((t, end, "visitors"))
        t = end
    t = _sit(d, t, d.at(18.3), "living")
    d.emit(t, "seat", 0)
    t = d.visit("kitchen", t, rng.uniform(30, 50), "dinner")
    d.emit(t + 20, "seat", 1)
    tv_end = d.at(rng.gauss(22.0, 0.3) if rng.random() < 0.8 else rng.uniform(23.0, 24.5))  # a long film
    t = _sit(d, t, tv_end, "watching tv")
    d.emit(t, "seat", 0)
    t = d.visit("bathroom", t, rng.uniform(5, 15), "toileting")
    t = d.visit("bedroom", t, rng.uniform(3, 8), "going to bed")
    d.emit(t, "bed", 1)
    d.move(t, "bedroom")
    nights = rng.choice([0, 1, 1, 2]) if not restless else rng.randint(4, 6)
    for _ in range(nights):
        u = t + rng.uniform(1, 7) * 3600
        if u > d.at(30.5):
            continue
        d.emit(u, "bed", 0)
        end = d.visit("bathroom", u + 30, rng.uniform(3, 8) if not restless else rng.uniform(10, 30), "toileting")
        d.visit("bedroom", end, 1, "going to bed")
        d.emit(end + 90, "bed", 1)
        d.move(end + 90, "bedroom")
    return d


def _as_kind(events: list[HomeEvent], kind: str, rng: random.Random) -> list[HomeEvent]:
    """The day as this kind of home's sensors see it."""
    keep = _KIND_SENSORS[kind]
    out = [e for e in events if e.sensor in keep]
    if kind == "motion":  # real PIRs: "movement" only, and not again within their hold time
        last: dict[str, float] = {}
        pirs = []
        for e in sorted(out, key=lambda e: e.local):
            if e.kind != "motion":
                pirs.append(e)
            elif e.state == 1 and e.local - last.get(e.sensor, -1e9) >= 60:
                last[e.sensor] = e.local
                pirs.append(e)
        out = pirs
    if kind == "stuck":
        out = _stick(out, rng)
    return out


def _stick(events: list[HomeEvent], rng: random.Random) -> list[HomeEvent]:
    """Now and then the bed mat stays "occupied" for one to three days, and the seat for hours."""
    out: list[HomeEvent] = []
    stuck: dict[str, float] = {}
    for e in sorted(events, key=lambda e: e.local):
        until = stuck.get(e.sensor)
        if until is not None:
            if e.local < until:
                continue  # the mat reports nothing while stuck
            del stuck[e.sensor]
        out.append(e)
        if e.state == 1 and e.sensor == "bed" and rng.random() < 0.08:
            stuck["bed"] = e.local + rng.uniform(1, 3) * 86400
        elif e.state == 1 and e.sensor == "seat" and rng.random() < 0.05:
            stuck["seat"] = e.local + rng.uniform(4, 10) * 3600
    return out


def _radar_rows(where: list[tuple[float, str]]) -> list[HomeEvent]:
    """What each room's presence radar reports as the person goes from room to room: someone (1) a
    moment after they came in, whether they move or not, and nobody (0) a hold time after they left."""
    out: list[HomeEvent] = []
    timeline = sorted(where, key=lambda w: w[0])  # stable: a room entered at the instant another was left
    for room, sid in RADARS.items():
        stays: list[tuple[float, float | None]] = []
        since: float | None = None
        for t, r in timeline:
            if r == room and since is None:
                since = t
            elif r != room and since is not None:
                if stays and stays[-1][1] is not None and since - stays[-1][1] < RADAR_GAP_S:
                    since = stays.pop()[0]  # out of the room for a moment: the radar still sees someone
                stays.append((since, t))
                since = None
        if since is not None:
            stays.append((since, None))
        for a, b in stays:
            out.append(HomeEvent(a + RADAR_ARRIVE_S, sid, room, "presence", 1))
            if b is not None:
                out.append(HomeEvent(b + RADAR_HOLD_S, sid, room, "presence", 0))
    return out


def generate(days: int, seed: int = 1, start: str = "2026-01-05",
             injections: tuple[Injection, ...] = (), kind: str = "standard", radars: bool = False,
             ) -> tuple[list[HomeEvent], list[tuple[float, float, str]]]:
    """Events and annotated activities for ``days`` days in a ``kind`` of home; injections as asked.

    ``radars`` (implied by the kind ``radar``: the motion home with radars) adds a presence radar in the
    bathroom, the bedroom and the living room. The person's days are the same with or without them
    (the radars draw nothing from the random stream), so a home with radars and the same home
    without them compare like for like. A collapse leaves the radar of the room saying "someone".
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    radars = radars or kind == "radar"
    base = "motion" if kind == "radar" else kind
    rng = random.Random(seed)
    t0 = datetime.strptime(start, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    kinds = {(i.kind, i.day) for i in injections}
    events: list[HomeEvent] = []
    acts: list[tuple[float, float, str]] = []
    cut: float | None = None
    where: list[tuple[float, str]] = []
    for n in range(days):
        d = _day(rng, t0 + n * 86400, n, restless=("restless_nights", n) in kinds,
                 missed=("missed_morning", n) in kinds)
        day_events = sorted(_as_kind(d.events, base, rng), key=lambda e: e.local)
        if ("collapse", n) in kinds:
            awake = [e.local for e in day_events if d.at(9) <= e.local <= d.at(20)]
            cut = rng.choice(awake)
        if ("bathroom_fall", n) in kinds:
            bath = [e.local for e in day_events if e.room == "bathroom" and d.at(8) <= e.local <= d.at(21)]
            cut = rng.choice(bath)
        events += day_events
        acts += d.activities
        where += d.where
        if cut is not None:
            break
    if radars:
        events += _radar_rows(where)
    events.sort(key=lambda e: e.local)
    if cut is not None:
        events = [e for e in events if e.local <= cut]
        acts = [a for a in acts if a[0] <= cut]
    return events, acts


def _ts(local: float) -> str:
    return datetime.fromtimestamp(local, UTC).strftime("%Y-%m-%d %H:%M:%S")


def write_format_b(folder: Path, events: list[HomeEvent], activities: list[tuple[float, float, str]],
                   name: str = "synthetic", seed: int = 1, kind: str = "standard", radars: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "events.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ts", "sensor", "room", "kind", "state"])
        for e in events:
            w.writerow([_ts(e.local), e.sensor, e.room, e.kind, e.state])
    with (folder / "activities.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["start", "end", "activity"])
        for start, end, a in sorted(activities):
            w.writerow([_ts(start), _ts(end), a])
    fitted = _KIND_SENSORS[kind] | (set(RADARS.values()) if radars or kind == "radar" else set())
    meta = {
        "name": name, "source": f"carehub simulators/home.py, kind {kind}, seed {seed}", "license": "generated",
        "rooms": sorted({SENSORS[sid][0] for sid in fitted}),
        "sensors": {sid: {"room": room, "kind": k} for sid, (room, k) in SENSORS.items() if sid in fitted},
        "span": [_ts(events[0].local), _ts(events[-1].local)] if events else [], "residents": 1,
    }
    (folder / "home.json").write_text(json.dumps(meta, indent=1))
