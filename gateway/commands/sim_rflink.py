"""``carehub sim rflink``: an RFLink gateway on a pseudo-terminal, playing a scenario.

The radio codes come from the hub's own config file, so a scenario names devices
by their configured ids: ``[[step]] after_s = 2  device = "sos-bed"  command = "ON"``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--link", type=Path, required=True,
                   help="path of the symlink to create (configure it as rflink.port)")
    p.add_argument("--config", type=Path, required=True, help="the hub's config (for the devices' radio codes)")
    p.add_argument("--scenario", type=Path, help="TOML file of [[step]] tables to play")
    p.add_argument("--press", action="append", default=[], metavar="DEVICE",
                   help="send one ON frame burst for this device id (repeatable)")
    p.add_argument("--exit", action="store_true", help="exit after playing instead of staying plugged in")


def run(args: argparse.Namespace) -> int:
    from gateway.commands.config_check import load_or_explain
    from simulators.rflink import RadioCode, RflinkEmulator, Step, load_scenario, play

    cfg = load_or_explain(args.config)
    if cfg is None:
        return 2
    codes = {d.id: RadioCode(d.protocol, d.address, d.switch) for d in cfg.devices}
    steps = load_scenario(args.scenario) if args.scenario else []
    steps += [Step(after_s=0.5, device=d) for d in args.press]
    unknown = [s.device for s in steps if s.device not in codes]
    if unknown:
        print(f"carehub sim rflink: devices not in {args.config}: {', '.join(sorted(set(unknown)))}",
              file=sys.stderr)
        return 2
    emu = RflinkEmulator(args.link).start()
    print(f"RFLink emulator plugged in at {args.link}", flush=True)
    try:
        play(emu, steps, codes, on_step=lambda s: print(f"radio: {s.device} {s.command} {s.note}", flush=True))
        if not args.exit:
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            stop.wait()
    finally:
        emu.stop()
    return 0
