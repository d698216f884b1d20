"""``carehub sim home OUTDIR --days N``: a synthetic home's event log in format B."""

from __future__ import annotations

import argparse
from pathlib import Path

INJECTIONS = ("collapse", "bathroom_fall", "missed_morning", "restless_nights")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("outdir", type=Path, help="folder to write events.csv, activities.csv, home.json")
    p.add_argument("--days", type=int, default=30, help="days to simulate (default 30)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--start", default="2026-01-05", help="first day, YYYY-MM-DD")
    p.add_argument("--kind", default="standard", choices=("standard", "motion", "contacts", "mats", "stuck", "radar"),
                   help="which sensors the home has (simulators/home.py: KINDS; radar: the motion home with radars)")
    p.add_argument("--radars", action="store_true",
                   help="add presence radars in the bathroom, bedroom and living room to any kind (same person)")
    p.add_argument("--inject", action="append", default=[], metavar="KIND:DAY",
                   help=f"inject an event on a 0-based day; KIND one of {', '.join(INJECTIONS)} (repeatable)")


def run(args: argparse.Namespace) -> int:
    from simulators.home import Injection, generate, write_format_b

    injections = []
    for item in args.inject:
        kind, _, day = item.partition(":")
        if kind not in INJECTIONS or not day.isdigit():
            print(f"carehub sim home: --inject {item!r}: expected KIND:DAY with KIND in {', '.join(INJECTIONS)}")
            return 2
        injections.append(Injection(kind, int(day)))
    events, acts = generate(args.days, args.seed, args.start, tuple(injections), kind=args.kind, radars=args.radars)
    write_format_b(args.outdir, events, acts, name=args.outdir.name, seed=args.seed, kind=args.kind,
                   radars=args.radars)
    print(f"wrote {len(events)} events over {args.days} days to {args.outdir}")
    return 0
