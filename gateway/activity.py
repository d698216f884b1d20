"""The person's days from the journal: signs of life per room per quarter hour, and outings.

For the status page's timeline. Fed incrementally (rows after the last journal
id seen), so a render reads only what was journalled since the previous one,
and the page of a hub with a week of history stays cheap. Pure apart from the
local time zone (``time.localtime``), which is how the page shows every time.

Signs of life are the home monitor's (``detection.home.monitor``): motion that
starts, and any change of a door, bed, seat, toilet, cabinet, fridge or other
contact, but not temperature. An outing is an entrance door followed by at
least ``away_after_min`` of silence, until the next sign of life.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

SLOT_S = 900  # a quarter hour
SLOTS = 86400 // SLOT_S
DAYS = 7  # today and the six days before it
NOT_CONTACTS = {"motion", "button", "status", "vital", "presence", "fall", "accel", "finding", "alert"}
NOT_ACTIVITY = {"temperature"}
ENTRANCE_ROOMS = {"entrance", "hall"}  # as the home monitor's: a door there can mean going out


def is_sign_of_life(kind: str, detail: dict[str, Any]) -> bool:
    if kind == "motion":
        return bool(detail.get("active", True))
    return kind not in NOT_CONTACTS and kind not in NOT_ACTIVITY


def local_day_and_slot(wall: float) -> tuple[str, int]:
    lt = time.localtime(wall)
    return f"{lt.tm_year:04d}-{lt.tm_mon:02d}-{lt.tm_mday:02d}", (lt.tm_hour * 3600 + lt.tm_min * 60) // SLOT_S


@dataclass
class ActivityLog:
    away_after_s: float = 600.0
    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (date, room) -> per slot
    outings: list[tuple[float, float]] = field(default_factory=list)  # (door, next sign of life) walls
    last_id: int = 0
    last_sign: tuple[float, str, str] | None = None  # (wall, kind, room)
    last_device: str = ""
    _marks: tuple[tuple[Any, ...], dict[str, list[dict[str, Any]]]] | None = field(default=None, repr=False)

    def add(self, rows: Iterable[tuple[int, float, str, str, str | None, dict[str, Any]]]) -> None:
        """Journal rows (id, wall, device, kind, room, detail) in id order."""
        for row_id, wall, device, kind, room, detail in rows:
            self.last_id = max(self.last_id, row_id)
            if not is_sign_of_life(kind, detail):
                continue
            where = room or "other"
            date, slot = local_day_and_slot(wall)
            self.counts.setdefault((date, where), [0] * SLOTS)[slot] += 1
            prev = self.last_sign
            if prev is not None and prev[1] == "door" and prev[2] in ENTRANCE_ROOMS \
                    and wall - prev[0] >= self.away_after_s:
                self.outings.append((prev[0], wall))
            if prev is None or wall >= prev[0]:
                self.last_sign, self.last_device = (wall, kind, where), device

    def prune(self, keep_dates: set[str], since_wall: float) -> None:
        for key in [k for k in self.counts if k[0] not in keep_dates]:
            del self.counts[key]
        self.outings = [o for o in self.outings if o[1] >= since_wall]

    def out_now(self, now: float) -> float | None:
        """When the person went out, if the last sign of life was an entrance door long enough ago."""
        s = self.last_sign
        if s is not None and s[1] == "door" and s[2] in ENTRANCE_ROOMS and now - s[0] >= self.away_after_s:
            return s[0]
        return None

    def days(self, now: float, alerts: Collection[dict[str, Any]] = ()) -> dict[str, Any]:
        """Today and the days before it, oldest first: per room the counts per slot, outings and alerts
        as slot ranges, and the rooms in a stable order (most active first) for colours and lanes."""
        dates = []
        for back in range(DAYS - 1, -1, -1):
            dates.append(local_day_and_slot(now - back * 86400)[0])
        # A day of 23 or 25 hours (daylight saving) can repeat or skip a date: keep each once.
        dates = list(dict.fromkeys(dates))
        since = now - DAYS * 86400
        self.prune(set(dates), since)
        outings = list(self.outings)
        if (gone := self.out_now(now)) is not None:
            outings.append((gone, now))
        totals: dict[str, int] = {}
        for (_, room), cells in self.counts.items():
            totals[room] = totals.get(room, 0) + sum(cells)
        rooms = sorted(totals, key=lambda r: (-totals[r], r))
        today_date, now_slot = local_day_and_slot(now)
        listed = list(alerts)
        # The alerts change when one is raised: their marks are worked out again only then.
        alerts_key = (len(listed), min((float(a["raised_wall"]) for a in listed), default=0.0),
                      max((float(a["raised_wall"]) for a in listed), default=0.0), today_date)
        if self._marks is None or self._marks[0] != alerts_key:
            self._marks = (alerts_key, _alert_marks(listed))
        marks = self._marks[1]
        out = []
        for date in dates:
            per_room = {room: cells for (d, room), cells in self.counts.items() if d == date}
            out.append({"date": date, "today": date == today_date, "rooms": per_room,
                        "outings": _ranges(outings, date), "alerts": marks.get(date, [])})
        # What the drawing depends on: the page redraws the strips only when this changes.
        key = (self.last_id, today_date, now_slot, tuple(outings),
               tuple(sorted((d, r, sum(c)) for (d, r), c in self.counts.items())),
               alerts_key)
        return {"days": out, "rooms": rooms, "now_slot": now_slot, "slots": SLOTS, "key": key}


def _ranges(spans: list[tuple[float, float]], date: str) -> list[tuple[int, int]]:
    """The part of each span on ``date``, as [first slot, last slot]."""
    out = []
    for start, end in spans:
        d0, s0 = local_day_and_slot(start)
        d1, s1 = local_day_and_slot(end)
        if d0 > date or d1 < date:
            continue
        out.append((s0 if d0 == date else 0, s1 if d1 == date else SLOTS - 1))
    return out


def _alert_marks(alerts: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per date, one mark per kind of alert and quarter hour (fifty presses in a minute are one mark)."""
    out: dict[str, dict[tuple[int, str], dict[str, Any]]] = {}
    for a in alerts:
        d, slot = local_day_and_slot(float(a["raised_wall"]))
        out.setdefault(d, {}).setdefault((slot, str(a["type"])), {
            "slot": slot, "type": a["type"], "severity": a["severity"], "room": a.get("room"),
            "wall": a["raised_wall"]})
    return {d: sorted(m.values(), key=lambda x: (x["slot"], str(x["type"]))) for d, m in out.items()}


def last_sign_of(explained: dict[str, Any] | None, log: ActivityLog, now: float) -> dict[str, Any] | None:
    """The last sign of life: the home monitor's (live, to the second) when it has one, else the journal's."""
    last = (explained or {}).get("last")
    if last is not None:
        return {"room": last["room"], "device": last["device"], "kind": last["kind"],
                "wall": now - last["silence_s"]}
    if log.last_sign is not None:
        wall, kind, room = log.last_sign
        return {"room": room, "device": log.last_device, "kind": kind, "wall": wall}
    return None
