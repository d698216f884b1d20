"""``carehub eval home DIR [--n N] [--seed S]``: the judges' protocol, in the project's own loop.

The same protocol and figures as ``../shared/eval/score_home.py`` (whose docstring is
the reference), run in one process so that it is quick:

1. False alarms: the untouched log is replayed to its last event; every urgent or
   emergency alert after the learning period (``--learn-days``, 7) counts, per 30 days.
2. Collapses: N moments are drawn (``random.Random(seed)``, the scorer's draw) among the
   events after the learning period, at least ``--horizon-h`` (12) before the end,
   between 08:00 and 21:00 and outside the sleep and away periods that
   ``activities.csv`` annotates; every later event is removed, the log is replayed to
   the moment + horizon, and the first urgent or emergency alert after the moment gives
   the delay. ``activities.csv`` only chooses the moments: it never reaches the detectors.

Prints one JSON object with the scorer's keys when stdout is not a terminal or with
``--json``; a table with units on a terminal or with ``--text``. Progress goes to
stderr when it is a terminal.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

SEVERE = ("urgent", "emergency")
SLEEP = re.compile(r"sleep|bed|go_to_bed|go to bed", re.I)
AWAY = re.compile(r"leav|away|out|enter_home", re.I)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="folder with events.csv (and home.json, activities.csv)")
    p.add_argument("--n", type=int, default=10, help="collapses to inject (default 10, as the scorer)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the draw (default 1, as the scorer)")
    p.add_argument("--learn-days", type=float, default=7.0, help="learning period not scored (days)")
    p.add_argument("--horizon-h", type=float, default=12.0, help="how long after a collapse to replay (hours)")
    p.add_argument("--config", type=Path, help="config whose detection settings to use")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object (the default when stdout is not a terminal)")
    out.add_argument("--text", action="store_true", help="a table with units (the default on a terminal)")


def _blocked(folder: Path, parse_ts: Any) -> list[tuple[float, float]]:
    path = folder / "activities.csv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [(parse_ts(r["start"]), parse_ts(r["end"])) for r in csv.DictReader(f)
                if SLEEP.search(r["activity"]) or AWAY.search(r["activity"])]


def evaluate(folder: Path, base: Any, n: int, seed: int, learn_days: float = 7.0,
             horizon_h: float = 12.0) -> dict[str, Any]:
    from gateway.commands.progress import Progress
    from gateway.home_replay import detectors_for, parse_ts, raised, read_events, timeline
    from gateway.home_replay import run as run_detectors

    events = read_events(folder)
    first, last = events[0].local, events[-1].local
    scored_from = first + learn_days * 86400
    result: dict[str, Any] = {"home": folder.name, "events": len(events), "days": round((last - first) / 86400, 1)}

    def severe(prefix: list[Any], until: float) -> list[Any]:
        found = raised(run_detectors(detectors_for(folder, events, base), timeline(prefix, until)))
        return [f for f in found if f.severity.value in SEVERE]

    progress = Progress(f"eval home {folder.name}", n + 1, "replays")
    progress.update(0, "the whole log")
    t0 = time.monotonic()
    false = [f for f in severe(events, last) if scored_from <= int(f.at.local) <= last]
    scored_days = max((last - scored_from) / 86400, 1e-9)
    result.update({"replay_s_full": round(time.monotonic() - t0, 2), "false_alarms": len(false),
                   "false_alarms_per_30d": round(len(false) / scored_days * 30, 2),
                   "false_alarm_types": sorted({f.type for f in false})})

    blocked = _blocked(folder, parse_ts)

    def allowed(t: float) -> bool:
        hour = int(t % 86400 // 3600)
        return (scored_from <= t <= last - horizon_h * 3600 and 8 <= hour < 21
                and not any(s <= t <= e for s, e in blocked))

    cands = [i for i, e in enumerate(events) if allowed(e.local)]
    picks = sorted(random.Random(seed).sample(cands, min(n, len(cands))))
    delays: list[float | None] = []
    rows = []
    for done, i in enumerate(picks, start=1):
        progress.update(done, f"collapse {done} of {len(picks)}")
        moment = events[i].local
        kept = [e for e in events if e.local <= moment]
        hit = next((f for f in severe(kept, moment + horizon_h * 3600) if int(f.at.local) > moment), None)
        d = (int(hit.at.local) - moment) / 60 if hit is not None else None
        delays.append(d)
        rows.append({"at": _ts(moment), "room": events[i].room, "delay_min": None if d is None else round(d, 1),
                     "type": hit.type if hit is not None else None})
    progress.done()
    count = len(delays)
    found = [d for d in delays if d is not None]
    inf = [d if d is not None else float("inf") for d in delays]
    bath = [x for x, r in zip(inf, rows, strict=True) if r["room"] == "bathroom"]

    def within(h: float) -> float | None:
        return round(sum(1 for d in found if d <= h * 60) / count, 3) if count else None

    result.update({"injected": count, "detected_1h": within(1), "detected_2h": within(2), "detected_4h": within(4),
                   "detected_12h": within(horizon_h),
                   "median_delay_min": round(statistics.median(inf), 1) if count else None,
                   "bathroom_injected": len(bath),
                   "bathroom_median_delay_min": round(statistics.median(bath), 1) if bath else None,
                   "never_raised": sum(1 for d in delays if d is None), "injections": rows})
    return result


def _ts(local: float) -> str:
    from gateway.home_replay import format_ts

    return format_ts(local)


def run(args: argparse.Namespace) -> int:
    from gateway.commands.config_check import config_or_defaults

    base = config_or_defaults(args.config)
    if base is None:
        return 2
    try:
        result = evaluate(args.dir, base, args.n, args.seed, args.learn_days, args.horizon_h)
    except (OSError, ValueError) as exc:
        print(f"carehub eval home: {exc}", file=sys.stderr)
        return 2
    if args.json or not (args.text or sys.stdout.isatty()):
        print(json.dumps(result))
    else:
        print(summary(result))
    return 0


# (key, label, unit) of the table; every other key is shown as it is.
_ROWS = (
    ("home", "home", ""), ("events", "events", ""), ("days", "days in the log", "d"),
    ("replay_s_full", "replay of the whole log took", "s"),
    ("false_alarms", "false alarms (urgent or emergency, after learning)", ""),
    ("false_alarms_per_30d", "false alarms", "per 30 days"), ("false_alarm_types", "their types", ""),
    ("injected", "collapses injected", ""), ("detected_1h", "raised within 1 h", "%"),
    ("detected_2h", "raised within 2 h", "%"), ("detected_4h", "raised within 4 h", "%"),
    ("detected_12h", "raised within the horizon", "%"), ("median_delay_min", "median delay", "min"),
    ("bathroom_injected", "collapses in the bathroom", ""),
    ("bathroom_median_delay_min", "median delay in the bathroom", "min"),
    ("never_raised", "collapses never raised", ""),
)


def summary(result: dict[str, Any]) -> str:
    """The figures as a table a person reads, with their units (the JSON has the same keys)."""
    def shown(value: Any, unit: str) -> str:
        if value is None:
            return "-"
        if unit == "%":
            return f"{value * 100:.0f} %"
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "none"
        return f"{value} {unit}".strip()

    known = {k for k, _, _ in _ROWS}
    lines = [f"{label:<52} {shown(result[key], unit)}" for key, label, unit in _ROWS if key in result]
    lines += [f"{key:<52} {value}" for key, value in result.items() if key not in known and key != "injections"]
    if result.get("injections"):
        lines += ["", "collapse at           room        raised after  by"]
        for row in result["injections"]:
            delay = "never" if row["delay_min"] is None else f"{row['delay_min']} min"
            lines.append(f"  {row['at']}  {row['room']:<10} {delay:>12}  {row['type'] or '-'}")
    return "\n".join(lines)
