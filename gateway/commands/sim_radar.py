"""``carehub sim radar``: an mmWave radar (LD2410 or MR60FDA2) on a pseudo-terminal.

``--step AFTER_S:WHAT`` changes the scene after that many seconds (from the
previous step): ``moving:1.5`` / ``still:0.8`` (distance in m), ``none``,
``fall`` and ``up`` (MR60FDA2 only: the radar's fall state on and off).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--link", type=Path, required=True,
                   help="path of the symlink to create (configure it as the radar's port)")
    p.add_argument("--model", choices=("ld2410", "mr60fda2"), default="mr60fda2", help="which radar to be")
    p.add_argument("--step", action="append", default=[], metavar="AFTER_S:WHAT",
                   help="moving:M, still:M, none, fall or up after AFTER_S seconds (repeatable)")
    p.add_argument("--exit", action="store_true", help="exit after the last step instead of staying plugged in")


def parse_step(text: str) -> tuple[float, str, float | None]:
    after, _, rest = text.partition(":")
    what, _, distance = rest.partition(":")
    if what not in ("moving", "still", "none", "fall", "up"):
        raise ValueError(f"unknown step {text!r}: WHAT is moving, still, none, fall or up")
    return float(after), what, float(distance) if distance else None


def run(args: argparse.Namespace) -> int:
    from simulators.radar import RadarEmulator

    try:
        steps = [parse_step(s) for s in args.step]
    except ValueError as exc:
        print(f"carehub sim radar: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emu = RadarEmulator(args.link, args.model).start()
    print(f"{args.model} radar emulator plugged in at {args.link}", flush=True)
    try:
        for after, what, distance in steps:
            if stop.wait(after):
                return 0
            if what in ("fall", "up"):
                emu.set(fallen=what == "fall")
            else:
                emu.set(state=what, distance_m=distance)
            print(f"radar: {what}{'' if distance is None else f' {distance} m'}", flush=True)
        if args.exit:
            time.sleep(3 * emu.period_s)  # let the last scene be reported
        else:
            stop.wait()
    finally:
        emu.stop()
    return 0
