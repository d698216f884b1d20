"""``carehub replay home DIR``: a home event log through the daemon's detectors.

Prints one JSON line per alert or notice raised: ts (local), type, severity,
room, detail (``../shared/eval/score_home.py`` reads exactly these lines). Progress goes to
stderr, only when it is a terminal. ``activities.csv`` is never read. With ``--state-db`` the learned
baselines are loaded from and saved to that SQLite file, as the daemon does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="folder with events.csv (and home.json)")
    p.add_argument("--until", help="advance simulated time to this local time, 'YYYY-MM-DD HH:MM:SS' "
                   "(default: last event + 24 h)")
    p.add_argument("--config", type=Path, help="config whose detection settings to use (default: defaults)")
    p.add_argument("--state-db", type=Path, help="SQLite file with learned baselines to load and save")


def run(args: argparse.Namespace) -> int:
    from gateway import logs
    from gateway.commands.config_check import config_or_defaults
    from gateway.commands.progress import Progress
    from gateway.home_replay import ReplayClock, detectors_for, parse_ts, raised, read_events, report, timeline
    from gateway.home_replay import run as run_detectors
    from gateway.pipeline import Pipeline, restore_baselines, save_baselines
    from gateway.store import Store

    logs.setup("warning")  # stdout carries the alerts, one JSON line each; anything said goes to stderr
    base = config_or_defaults(args.config)
    if base is None:
        return 2
    try:
        events = read_events(args.dir)
        until = parse_ts(args.until) if args.until else events[-1].local + 86400
    except (OSError, ValueError) as exc:
        print(f"carehub replay home: {exc}", file=sys.stderr)
        return 2
    detectors = detectors_for(args.dir, events, base)
    store = Store(args.state_db) if args.state_db else None
    if store is not None:
        restore_baselines(detectors, store)  # as the daemon does at start
    out = sys.stdout
    start = events[0].local
    progress = Progress(f"replay home {args.dir.name}", (until - start) / 86400, "days")
    observations = progress.over(timeline(events, until), lambda i, o: round((o.at.local - start) / 86400, 1))
    for f in raised(run_detectors(detectors, observations)):
        out.write(json.dumps(report(f)) + "\n")
    if store is not None:
        save_baselines(Pipeline(detectors, lambda f: None, ReplayClock()), store)  # as the daemon does hourly
        store.close()
    return 0
