"""``carehub sim rtl433``: rtl_433's JSON events, on stdout (as ``rtl_433 -F json``) or to a broker.

``--step AFTER_S:EVENT`` plays a named event (kerui_motion, kerui_open,
kerui_close, honeywell_open, honeywell_close, generic_sos), a JSON object, or
``raw:TEXT`` (a line as it is, for hostile-input tests) after that many seconds.
Configure ``rtl433.command`` as this command to stand in for an SDR dongle, or
give ``--port`` to publish on ``rtl_433/<host>/events``. ``--follow FILE`` then
plays each line appended to FILE (an event name or a JSON object) as it comes,
so that a demo decides when a sensor sends while the hub runs this as its child.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--step", action="append", default=[], metavar="AFTER_S:EVENT",
                   help="a named event or a JSON object (repeatable)")
    p.add_argument("--port", type=int, help="publish to the broker on this port instead of printing")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--topic", default="rtl_433/hub/events")
    p.add_argument("--stay", action="store_true", help="keep running after the last step (like rtl_433)")
    p.add_argument("--follow", type=Path, metavar="FILE",
                   help="after the steps, play each line appended to FILE (stdout only; ends with the parent)")


def parse_step(text: str) -> tuple[float, str | dict[str, Any]]:
    from simulators.rtl433 import EVENTS

    after, _, what = text.partition(":")
    if what.startswith("raw:"):
        return float(after), {"__raw__": what[4:]}
    if what.startswith("{"):
        obj = json.loads(what)
        if not isinstance(obj, dict):
            raise ValueError(f"{what!r} is not a JSON object")
        return float(after), obj
    if what not in EVENTS:
        raise ValueError(f"unknown event {what!r}: one of {', '.join(EVENTS)} or a JSON object")
    return float(after), what


def run(args: argparse.Namespace) -> int:
    from simulators.rtl433 import event_line, play_stdout

    try:
        steps = [parse_step(s) for s in args.step]
    except ValueError as exc:
        print(f"carehub sim rtl433: {exc}", file=sys.stderr)
        return 2
    print("rtl_433 emulator: tuned to 433.92MHz", file=sys.stderr, flush=True)  # rtl_433 also talks on stderr
    if args.port is None:
        play_stdout(steps)
        if args.follow is not None:
            return follow(args.follow)
    else:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"rtl433-emulator-{args.port}")
        client.connect(args.host, args.port)
        client.loop_start()
        try:
            for after, event in steps:
                time.sleep(after)
                client.publish(args.topic, event_line(event), qos=1).wait_for_publish(5)
        finally:
            client.disconnect()
            client.loop_stop()
    if args.stay:
        threading.Event().wait()
    return 0


def follow(path: Path) -> int:
    """Play the events written to ``path`` from now on, until the process that started this one is gone.

    ``path.ready`` appears once it reads (it holds this process's id)."""
    from simulators.rtl433 import play_stdout

    parent = os.getppid()
    path.touch()
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        # Whoever writes the events waits for this, so that none is written before anyone reads.
        path.with_name(path.name + ".ready").write_text(f"{os.getpid()}\n")
        while os.getppid() == parent:  # the hub was killed: an orphan must not tail for ever
            start = f.tell()
            raw = f.readline()
            if not raw.endswith(b"\n"):
                f.seek(start)  # nothing new, or half a line: read it again when it is whole
                time.sleep(0.1)
                continue
            line = raw.decode("utf-8", errors="replace")
            try:
                _, event = parse_step("0:" + line.strip())
            except ValueError as exc:
                print(f"carehub sim rtl433: {exc}", file=sys.stderr, flush=True)
                continue
            play_stdout([(0.0, event)])
    return 0
