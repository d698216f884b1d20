"""``carehub eval home DIR [--inject N] [--seed S]``: false alarms and collapse detection.

False alarms: the untouched log is replayed; inactivity, room-dwell and no-wake
alerts raised after the learning period (7 days) count, per day of log after it.

Injected collapses: N moments are drawn at random among the home's signs of
life after the learning period, at least 4 h before the end, where the person
is at home and awake as the events show it (not in bed, not during the night
hours, and the sign of life is not the entrance door, which may mean leaving).
Every event after that moment is removed, as if the person had collapsed right
after it, and the log is replayed to 6 h later. Detection: the first urgent
inactivity, dwell or no-wake alert after the moment; delay from the moment.
Collapses whose last sign of life was in the bathroom are reported separately.
``activities.csv`` is not used at all.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

LEARNING_DAYS = 7
URGENT_TYPES = ("inactivity", "room_dwell", "no_wake")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="folder with events.csv (and home.json)")
    p.add_argument("--inject", type=int, default=0, help="number of collapses to inject")
    p.add_argument("--seed", type=int, default=1, help="random seed for the injection moments")
    p.add_argument("--config", type=Path, help="config whose detection settings to use")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gateway.commands.config_check import config_or_defaults
    from gateway.home_replay import detectors_for, raised, read_events, timeline
    from gateway.home_replay import run as run_detectors

    base = config_or_defaults(args.config)
    if base is None:
        return 2
    events = read_events(args.dir)
    start, end = events[0].local, events[-1].local
    learn_end = start + LEARNING_DAYS * 86400
    settings = base.detection.home

    findings = list(raised(run_detectors(detectors_for(args.dir, events, base), timeline(events, end))))
    false_alarms = [f for f in findings if f.type in URGENT_TYPES and f.at.local >= learn_end]
    days = max(0.0, (end - learn_end) / 86400)
    result: dict[str, object] = {
        "home": args.dir.name, "days": round((end - start) / 86400, 1), "evaluated_days": round(days, 1),
        "false_alarms": len(false_alarms),
        "false_alarms_per_day": round(len(false_alarms) / days, 3) if days else None,
        "false_alarms_by_type": {t: sum(f.type == t for f in false_alarms) for t in URGENT_TYPES},
    }

    if args.inject:
        in_bed = False
        eligible = []
        for i, e in enumerate(events):
            if e.kind == "bed":
                in_bed = bool(e.state)
            hour = (e.local % 86400) / 3600
            night = (hour >= settings.night_start_hour or hour < settings.night_end_hour)
            if (learn_end <= e.local <= end - 4 * 3600 and not in_bed and not night and e.kind != "door"
                    and e.kind != "temperature"):
                eligible.append(i)
        rng = random.Random(args.seed)
        picks = sorted(rng.sample(eligible, min(args.inject, len(eligible)))) if eligible else []
        delays, bath_delays, detected, bath_n = [], [], 0, 0
        for i in picks:
            moment = events[i].local + rng.uniform(0, 60)
            prefix = events[:i + 1]
            found = None
            for f in raised(run_detectors(detectors_for(args.dir, events, base), timeline(prefix, moment + 6 * 3600))):
                if f.type in URGENT_TYPES and f.at.local > moment:
                    found = f
                    break
            bathroom = events[i].room == "bathroom"
            bath_n += bathroom
            if found is not None and found.at.local - moment <= 4 * 3600:
                detected += 1
                delays.append((found.at.local - moment) / 60)
                if bathroom:
                    bath_delays.append((found.at.local - moment) / 60)
        result["injected"] = len(picks)
        result["detected_within_4h"] = detected
        result["detection_rate"] = round(detected / len(picks), 3) if picks else None
        result["median_delay_min"] = round(float(np.median(delays)), 1) if delays else None
        result["p90_delay_min"] = round(float(np.percentile(delays, 90)), 1) if delays else None
        result["bathroom_injected"] = bath_n
        result["bathroom_median_delay_min"] = round(float(np.median(bath_delays)), 1) if bath_delays else None
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<28} {value}")
    return 0
