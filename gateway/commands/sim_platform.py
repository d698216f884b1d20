"""``carehub sim platform``: the care platform, emulated, printing what it receives."""

from __future__ import annotations

import argparse
import signal
import threading


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="broker host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=1883, help="broker port (default 1883)")
    p.add_argument("--base-topic", default="carehub/v1")
    p.add_argument("--mode", choices=("ack", "ignore", "late", "level"), default="ack",
                   help="ack at once, never, after --delay seconds, or at escalation --level")
    p.add_argument("--delay", type=float, default=5.0, help="seconds before acknowledging in 'late' mode")
    p.add_argument("--level", type=int, default=1, help="escalation level acknowledged in 'level' mode")


def run(args: argparse.Namespace) -> int:
    from simulators.platform import PlatformEmulator

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with PlatformEmulator(args.host, args.port, base_topic=args.base_topic, mode=args.mode,
                          delay_s=args.delay, ack_level=args.level, printer=lambda s: print(s, flush=True)):
        print(f"platform emulator on {args.host}:{args.port}, mode {args.mode}; Ctrl-C to stop", flush=True)
        stop.wait()
    return 0
