"""``carehub sim zigbee2mqtt``: publish what a Zigbee2MQTT instance publishes, to a real broker.

``--device NAME:KIND`` pairs a device (kind: pir, door, sos, bed, presence);
``--step AFTER_S:NAME:EVENT`` plays an event that many seconds after the
previous step (motion, no_motion, open, close, sos, in_bed, out_of_bed,
present, absent, online, offline, battery_low).
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="the broker Zigbee2MQTT publishes to")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--base-topic", default="zigbee2mqtt")
    p.add_argument("--json-availability", action="store_true", help='availability as {"state": ...}')
    p.add_argument("--device", action="append", default=[], metavar="NAME:KIND", help="pair a device (repeatable)")
    p.add_argument("--step", action="append", default=[], metavar="AFTER_S:NAME:EVENT",
                   help="an event of a paired device (repeatable)")


def run(args: argparse.Namespace) -> int:
    from simulators.zigbee2mqtt import EVENTS, MODELS, Zigbee2MqttEmulator

    devices = [d.rpartition(":")[::2] for d in args.device]
    steps = []
    for s in args.step:
        after, _, rest = s.partition(":")
        name, _, event = rest.rpartition(":")
        steps.append((after, name, event))
    problems = [f"unknown kind in {n}:{k}" for n, k in devices if k not in MODELS or not n]
    problems += [f"bad step {a}:{n}:{e}" for a, n, e in steps
                 if e not in EVENTS or n not in {d[0] for d in devices} or not a.replace(".", "", 1).isdigit()]
    if problems:
        print("carehub sim zigbee2mqtt: " + "; ".join(problems), file=sys.stderr)
        return 2
    with Zigbee2MqttEmulator(args.host, args.port, args.base_topic,
                             json_availability=args.json_availability) as emu:
        for name, kind in devices:
            emu.add(name, kind)
            print(f"zigbee: paired {name} ({kind})", flush=True)
        for after, name, event in steps:
            time.sleep(float(after))
            emu.event(name, event)
            print(f"zigbee: {name} {event}", flush=True)
    return 0
