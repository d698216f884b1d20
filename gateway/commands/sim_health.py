"""``carehub sim health``: emulated SIG health devices (a watch, an oximeter, a cuff, a scale) for a hub.

Serves them on a Unix socket like ``carehub sim wearable``; point the hub at it
with ``[ble] enabled = true`` and ``emulator_socket = "<socket>"`` and add the
``[[wearables]]`` that ``--print-config`` prints. After ``--after`` seconds
(the hub connecting), plays a scenario (simulators/health_devices.py) in real
time: normal, bradycardia_night, hypoxia, watch_off, missed_day.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--socket", type=Path, required=True, help="Unix socket to serve (ble.emulator_socket)")
    p.add_argument("--scenario", default="normal",
                   help="normal, bradycardia_night, hypoxia, watch_off or missed_day")
    p.add_argument("--after", type=float, default=10.0, help="seconds before the scenario starts")
    p.add_argument("--off-h", type=float, default=4.5, help="hours the watch is off in watch_off")
    p.add_argument("--print-config", action="store_true", help="print the [[wearables]] for the hub and exit")


def run(args: argparse.Namespace) -> int:
    import calendar
    import time

    from simulators.health_devices import ADDRESSES, PROFILES, SCENARIOS, play, scenario
    from simulators.wearable import VirtualWearable, WearableEmulator

    if args.print_config:
        for dev, address in ADDRESSES.items():
            print(f'[[wearables]]\nid = "{dev}"\naddress = "{address}"\nprofile = "{PROFILES[dev]}"\n')
        return 0
    if args.scenario not in SCENARIOS:
        print(f"carehub sim health: unknown scenario {args.scenario!r}; one of {', '.join(SCENARIOS)}",
              file=sys.stderr)
        return 2
    notes = scenario(args.scenario, float(calendar.timegm(time.localtime())) + args.after, off_h=args.off_h)
    emu = WearableEmulator(args.socket, [VirtualWearable(a, name=d) for d, a in ADDRESSES.items()]).start()
    print(f"emulated health devices on {args.socket}; {args.scenario} in {args.after:g} s", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if not stop.wait(args.after):
            sent = play(notes, emu.notify, stop)
            print(f"{args.scenario}: {sent} notifications sent", flush=True)
        stop.wait()
    finally:
        emu.stop()
    return 0
