"""``carehub sim wearable``: emulated carehub-profile wearables for a hub to connect to.

Serves virtual wearables on a Unix socket; point the hub at it with
``[ble] enabled = true`` and ``emulator_socket = "<socket>"``. Each wearable
replays accelerometer trials from a format-A file (e.g. a fall from
../shared/data) as real carehub-profile notifications, then sits quietly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--socket", type=Path, required=True, help="Unix socket to serve (ble.emulator_socket)")
    p.add_argument("--address", default="C0:FF:EE:00:00:01", help="the wearable's Bluetooth address")
    p.add_argument("--trials", type=Path, help="accelerometer trials (.npz, format A) to replay")
    p.add_argument("--trial", action="append", default=[], metavar="ID",
                   help="trial id to replay, in order (repeatable; default: none, just rest)")
    p.add_argument("--after", type=float, default=5.0, help="seconds before the first trial starts")


def run(args: argparse.Namespace) -> int:
    import time

    from detection.fall.trials import load_trials
    from simulators.wearable import VirtualWearable, WearableEmulator

    recordings = []
    if args.trial:
        if args.trials is None:
            print("carehub sim wearable: --trial needs --trials FILE", file=sys.stderr)
            return 2
        trials = load_trials(args.trials)
        index = {str(t): i for i, t in enumerate(trials.trial)}
        for tid in args.trial:
            if tid not in index:
                print(f"carehub sim wearable: no trial {tid!r} in {args.trials}", file=sys.stderr)
                return 2
            recordings.append((tid, trials.samples(index[tid])))
    wearable = VirtualWearable(args.address)
    emu = WearableEmulator(args.socket, [wearable]).start()
    print(f"emulated wearable {args.address} on {args.socket}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait(args.after)
        for tid, samples in recordings:
            if stop.is_set():
                break
            print(f"replaying {tid} ({len(samples) / 50:.0f} s)", flush=True)
            wearable.play(samples)
            while wearable.queued_seconds() > 0 and not stop.is_set():
                time.sleep(0.2)
        stop.wait()
    finally:
        emu.stop()
    return 0
