"""The person's day at a glance: the summary and its reasons, and the week's timeline as SVG geometry.

Pure: from ``HubView.status()`` and ``HubView.day_view()`` (``gateway.reports.person_day``)
to what the status page's templates draw. The timeline is inline SVG strips made
of presentation attributes only (the page's Content-Security-Policy allows no
inline style, and no script is needed to read them), one unit per quarter hour
so that a strip stretches to the screen while its text stays HTML at the
page's size: today as one lane per room,
the last seven days as one strip each, coloured by the room most active in
each quarter hour; outings are grey bands, alerts red marks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import date as Date
from typing import Any

from markupsafe import Markup, escape

MAX_LANES = 8
# Told apart by people with the common colour blindnesses (Okabe & Ito), then two greys.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000", "#777777")
SILENCE_WARN = 0.75  # share of the limit after which a silence is a reason to look
NAMES_SHOWN = 4  # devices named in one reason; the rest counted
OUT_FILL, ALERT_STROKE, EMPTY_FILL = "#8c959f", "#b42318", "#eaeef2"
DRAWN_KEEP = 4  # drawings kept (languages x the last few journal states)

T = Callable[..., str]
Label = Callable[[str, Any], str]
_drawn: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()


def room_colours(rooms: list[str]) -> dict[str, str]:
    return {room: PALETTE[min(i, len(PALETTE) - 1)] for i, room in enumerate(rooms)}


def _opacity(count: int, top: int) -> float:
    return round(0.35 + 0.65 * min(1.0, count / max(1, top)), 2)


def timeline(view: dict[str, Any]) -> dict[str, Any]:
    """What the strips draw, in slots (one SVG unit each, so that the strip stretches to any width):
    ``today`` one lane per room, ``week`` one strip per day coloured by the busiest room."""
    tl = view["timeline"]
    slots = int(tl["slots"])
    colours = room_colours(tl["rooms"])
    days = tl["days"]
    today = days[-1]
    lanes_rooms = [r for r in tl["rooms"] if r in today["rooms"]][:MAX_LANES]
    top = max((max(c) for c in today["rooms"].values()), default=1)
    lanes = []
    for room in lanes_rooms:
        counts = today["rooms"][room]
        cells = [{"slot": s, "count": n, "room": room, "colour": colours[room], "opacity": _opacity(n, top)}
                 for s, n in enumerate(counts) if n]
        lanes.append({"room": room, "colour": colours[room], "cells": cells, "signs": sum(counts)})
    week = []
    for day in days:
        totals = [0] * slots
        best: list[tuple[int, str]] = [(0, "")] * slots
        for room, counts in day["rooms"].items():
            for s, n in enumerate(counts):
                if n:
                    totals[s] += n
                    if n > best[s][0]:
                        best[s] = (n, room)
        day_top = max(totals) or 1
        cells = [{"slot": s, "count": totals[s], "room": best[s][1], "colour": colours.get(best[s][1], PALETTE[-1]),
                  "opacity": _opacity(totals[s], day_top)} for s in range(slots) if totals[s]]
        d = Date.fromisoformat(day["date"])
        week.append({"date": day["date"], "m": d.month, "d": d.day, "weekday": d.weekday(), "today": day["today"],
                     "cells": cells, "signs": sum(totals), "outings": day["outings"], "alerts": day["alerts"]})
    return {"slots": slots, "now_slot": tl["now_slot"], "lanes": lanes, "outings": today["outings"],
            "alerts": today["alerts"], "week": week, "legend": [(room, colours[room]) for room in tl["rooms"]],
            "slot_min": 1440 // slots}


def strip_svg(g: dict[str, Any], cells: list[dict[str, Any]], outings: list[tuple[int, int]],
              alerts: list[dict[str, Any]], now: int | None, what: str, t: T, label: Label) -> Markup:
    """One strip as inline SVG, each mark with its own <title> (hover or tap); drawn here rather than in a
    template loop: a week is about a thousand marks, and this is ten times faster."""
    slots = g["slots"]

    def at(slot: int) -> str:
        return slot_time(slot, slots)

    out = [f'<svg class="strip" viewBox="0 0 {slots} 10" preserveAspectRatio="none" role="img" '
           f'aria-label="{escape(what)}"><rect width="{slots}" height="10" fill="{EMPTY_FILL}"/>']
    for a, b in outings:
        out.append(f'<rect x="{a}" width="{b - a + 1}" height="10" fill="{OUT_FILL}" opacity="0.55">'
                   f'<title>{escape(t("day.out", start=at(a), end=at(b + 1)))}</title></rect>')
    for c in cells:
        title = t("day.cell", room=label("room", c["room"]), time=at(c["slot"]), n=c["count"])
        out.append(f'<rect x="{c["slot"]}" width="1" height="10" fill="{c["colour"]}" opacity="{c["opacity"]}">'
                   f'<title>{escape(title)}</title></rect>')
    for m in alerts:
        x = m["slot"] + 0.5
        out.append(f'<line x1="{x}" x2="{x}" y1="0" y2="10" stroke="{ALERT_STROKE}" stroke-width="3" '
                   f'vector-effect="non-scaling-stroke"><title>'
                   f'{escape(t("day.alert", what=label("finding", m["type"]), time=at(m["slot"])))}</title></line>')
    if now is not None:
        out.append(f'<line x1="{now + 0.5}" x2="{now + 0.5}" y1="0" y2="10" stroke="#1b1f24" stroke-width="1.5" '
                   f'stroke-dasharray="2 2" vector-effect="non-scaling-stroke"><title>{escape(t("day.now"))}'
                   f'</title></line>')
    out.append("</svg>")
    return Markup("".join(out))


def drawn(view: dict[str, Any], lang: str, t: T, label: Label) -> dict[str, Any]:
    """``timeline`` with each lane's and day's strip drawn, kept while the journal, the quarter hour,
    the outings and the alerts stay the same (a status page every few seconds draws nothing new)."""
    key = (lang, view["timeline"].get("key"))
    hit = _drawn.get(key) if key[1] is not None else None
    if hit is not None:
        _drawn.move_to_end(key)
        return hit
    g = timeline(view)
    colon = t("punct.colon")
    for lane in g["lanes"]:
        what = label("room", lane["room"]) + colon + t("day.signs", n=lane["signs"])
        lane["svg"] = strip_svg(g, lane["cells"], g["outings"], g["alerts"], g["now_slot"], what, t, label)
    if not g["lanes"]:
        g["empty_svg"] = strip_svg(g, [], g["outings"], g["alerts"], g["now_slot"], t("day.nothing_today"), t, label)
    for row in g["week"]:
        row["name"] = t("day.date", d=row["d"], month=t(f"month.{row['m']}"), weekday=t(f"weekday.{row['weekday']}"))
        row["svg"] = strip_svg(g, row["cells"], row["outings"], row["alerts"], g["now_slot"] if row["today"] else None,
                               row["name"] + colon + t("day.signs", n=row["signs"]), t, label)
    if key[1] is not None:
        _drawn[key] = g
        while len(_drawn) > DRAWN_KEEP:
            _drawn.popitem(last=False)
    return g


def slot_time(slot: int, slots: int) -> str:
    minutes = slot * 1440 // slots
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def summary(status: dict[str, Any], view: dict[str, Any], t: T, label: Callable[[str, Any], str],
            dur: Callable[[float], str]) -> dict[str, Any]:
    """"All OK" or "needs attention", with each reason in the page's language: ``bad`` (someone may need
    help, or help could not get out), ``warn`` (a device or a silence to look at), ``info`` (not a problem)."""
    reasons: list[tuple[str, str]] = []
    for a in status["open_alerts"]:
        where = f" · {label('room', a['room'])}" if a.get("room") else ""
        level = "warn" if a["severity"] in ("technical", "info", "wellbeing") else "bad"
        reasons.append((level, t("glance.reason.alert", what=label("finding", a["type"])) + where))
    if not status["platform"]["connected"]:
        reasons.append(("bad", t("glance.reason.platform")))
    # Per kind of trouble, one line, however many devices have it (a new hub: fifty never heard).
    troubled: dict[str, list[str]] = {"silent": [], "never": [], "battery": [], "not_worn": []}
    for d in status["devices"]:
        name = d.get("name") or d["id"]
        if d.get("online") is False:
            troubled["silent"].append(name)
        elif d.get("last_seen_wall") is None:
            troubled["never"].append(name)
        if d.get("battery_low"):
            troubled["battery"].append(name)
        if d.get("worn") is False:
            troubled["not_worn"].append(name)
    for kind, names in troubled.items():
        if len(names) == 1:
            reasons.append(("warn", t(f"glance.reason.{kind}", name=names[0])))
        elif names:
            shown = t("punct.list").join(names[:NAMES_SHOWN])
            if len(names) > NAMES_SHOWN:
                shown += t("glance.and_more", n=len(names) - NAMES_SHOWN)
            reasons.append(("warn", t(f"glance.reason.{kind}_many", n=len(names), names=shown)))
    last = (view.get("monitor") or {}).get("last")
    if last and not last["raised"] and not view.get("out_since") and last["limit_s"] > 0 \
            and last["silence_s"] >= SILENCE_WARN * last["limit_s"]:
        reasons.append(("warn", t("glance.reason.long_silence", silence=dur(last["silence_s"]),
                                  limit=dur(last["limit_s"]))))
    learning = status.get("home_learning")
    if learning and learning.get("learning"):
        reasons.append(("info", t("glance.reason.learning", days=int(learning.get("days_learned", 0)))))
    if not status["clock"]["synced"]:
        reasons.append(("info", t("glance.reason.clock")))
    levels = {level for level, _ in reasons}
    state = "bad" if "bad" in levels else "warn" if "warn" in levels else "ok"
    return {"state": state, "reasons": [{"level": level, "text": text} for level, text in reasons]}


def rooms_learned(learning: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per room: silences learned and the range of limits that apply now, from ``home_learning``'s contexts."""
    rooms: dict[str, dict[str, Any]] = {}
    for c in (learning or {}).get("contexts", []):
        room = str(c["context"]).rsplit("/", 1)[-1]
        r = rooms.setdefault(room, {"room": room, "silences": 0, "long": 0, "low": None, "high": None,
                                    "learned": False})
        r["silences"] += int(c["silences"])
        r["long"] += int(c["long_silences"])
        r["learned"] = r["learned"] or bool(c.get("learned"))
        lim = float(c["limit_min"])
        r["low"] = lim if r["low"] is None else min(r["low"], lim)
        r["high"] = lim if r["high"] is None else max(r["high"], lim)
    return sorted(rooms.values(), key=lambda r: (-r["silences"], r["room"]))
