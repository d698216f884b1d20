"""``carehub sim rtl433``: rtl_433's JSON events, on stdout (as ``rtl_433 -F json``) or to a broker.

``--step AFTER_S:EVENT`` plays a named event (kerui_motion, kerui_open,
kerui_close, honeywell_open, honeywell_close, generic_sos), a JSON object, or
``raw:TEXT`` (a line as it is, for hostile-input tests) after that many seconds.
Configure ``rtl433.command`` as this command to stand in for an SDR dongle, or
give ``--port`` to publish on ``rtl_433/<host>/events``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--step", action="append", default=[], metavar="AFTER_S:EVENT",
                   help="a named event or a JSON object (repeatable)")
    p.add_argument("--port", type=int, help="publish to the broker on this port instead of printing")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--topic", default="rtl_433/hub/events")
    p.add_argument("--stay", action="store_true", help="keep running after the last step (like rtl_433)")


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
