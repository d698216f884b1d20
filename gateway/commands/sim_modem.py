"""``carehub sim modem``: a cellular modem (SIM7600 / EC2x AT dialogue) on a pseudo-terminal.

Configure the link as the hub's modem port. Every SMS the hub sends is printed
(``sms to +86...: text (2 parts)``). Type on stdin to play the network and the people:

    from +8613800000000: OK 1a2b     an incoming SMS (a reply acknowledging an alert)
    lose | roam | regain             registration lost (searching), roaming, home again
    nosim | sim                      pull the SIM, put it back
    refuse [N] [CODE]                the next N sends fail with +CMS ERROR: CODE (500)
    hang | hang AT+CMGS | unhang     stop answering (now, or in the middle of the next send)
    garbage [N] | restart | help
"""

from __future__ import annotations

import argparse
import io
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

_FROM = re.compile(r"from\s+([^:\s]+)\s*:\s?(.*)", re.IGNORECASE)
HELP = __doc__.split("\n\n", 2)[2] if __doc__ else ""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--link", type=Path, required=True,
                   help="path of the symlink to create (configure it as the modem's port)")
    p.add_argument("--operator", default="CHINA MOBILE", help="network name in +COPS")
    p.add_argument("--csq", type=int, default=20, help="signal in +CSQ units (0..31; 20 is -73 dBm)")
    p.add_argument("--refuse", type=int, default=0, metavar="N", help="refuse the first N sends (+CMS ERROR: 500)")
    p.add_argument("--deliver", action="append", default=[], metavar="FROM:TEXT",
                   help="an incoming SMS as soon as the hub listens for them (repeatable)")


def apply(emu: Any, line: str) -> str:
    """One stdin line applied to the emulator; what to print back."""
    line = line.strip()
    m = _FROM.fullmatch(line)
    if m:
        indices = emu.deliver(m.group(1), m.group(2))
        return f"delivered from {m.group(1)} ({len(indices)} part(s), storage {indices})"
    words = line.split()
    if not words:
        return ""
    word, rest = words[0].lower(), words[1:]
    if word == "lose":
        emu.lose_registration()
    elif word == "roam":
        emu.set_registration(5)
    elif word == "regain":
        emu.regain_registration()
    elif word == "nosim":
        emu.remove_sim()
    elif word == "sim":
        emu.insert_sim()
    elif word == "refuse":
        emu.refuse(int(rest[0]) if rest else 1, int(rest[1]) if len(rest) > 1 else 500)
    elif word == "hang":
        emu.hang(rest[0] if rest else None)
    elif word == "unhang":
        emu.unhang()
    elif word == "garbage":
        emu.garbage(int(rest[0]) if rest else 10)
    elif word == "restart":
        emu.restart()
    elif word == "help":
        return HELP
    else:
        return f"not understood: {line!r} (type help)"
    return f"ok: {line}"


def run(args: argparse.Namespace) -> int:
    import time

    from simulators.modem import ModemEmulator, SentSms

    def sent(sms: SentSms) -> None:
        print(f"sms to {sms.number}: {sms.text} ({sms.parts} part{'s' if sms.parts > 1 else ''})", flush=True)

    deliveries = []
    for spec in args.deliver:
        sender, sep, text = spec.partition(":")
        if not sep or not sender:
            print(f"carehub sim modem: --deliver wants FROM:TEXT, not {spec!r}", file=sys.stderr)
            return 2
        deliveries.append((sender.strip(), text))
    for stream in (sys.stdin, sys.stdout):  # Chinese in and out, whatever the terminal's locale
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emu = ModemEmulator(args.link, operator=args.operator, csq=args.csq, on_sent=sent).start()
    if args.refuse:
        emu.refuse(args.refuse)
    print(f"modem emulator plugged in at {args.link} (type help)", flush=True)

    def read_stdin() -> None:
        for line in sys.stdin:
            try:
                reply = apply(emu, line)
            except (ValueError, IndexError) as exc:
                reply = f"not understood: {exc}"
            if reply:
                print(reply, flush=True)

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        while deliveries and not stop.is_set():
            if emu.cnmi:  # the hub has set the modem up: a +CMTI now reaches it
                for sender, text in deliveries:
                    print(apply(emu, f"from {sender}: {text}"), flush=True)
                deliveries = []
            time.sleep(0.2)
        stop.wait()
    finally:
        emu.stop()
    return 0
