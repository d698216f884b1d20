"""``carehub demo``: the hub on simulated hardware, with a broker and the platform emulator."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workdir", type=Path, help="where to keep the demo's config and database (default: a temp dir)")
    p.add_argument("--keep-running", action="store_true",
                   help="keep the hub running after the scenario, to try the technician's page")
    p.add_argument("--web-port", type=int, default=8080,
                   help="port of the technician's page on 127.0.0.1 (default 8080; a free one if taken)")
    p.add_argument("--second-path", action="store_true",
                   help="only the second-path scene: the broker unplugged, the help call by SMS, acknowledged by reply")


def run(args: argparse.Namespace) -> int:
    _stop_on_signals()
    if args.second_path:
        from simulators.demo_second_path import run_second_path_demo

        return run_second_path_demo(args.workdir, say=lambda s: print(s, flush=True))
    from simulators.demo import run_demo

    return run_demo(args.workdir, keep_running=args.keep_running, web_port=args.web_port,
                    say=lambda s: print(s, flush=True))


def _stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does: it stops its hub and removes its folders.

    The demo's hub runs in its own session (so that Ctrl-C reaches only the demo, which then stops
    everything in order); without this a `kill` or a closed terminal would leave that hub running.
    """
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
