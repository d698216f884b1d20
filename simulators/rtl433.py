"""rtl_433, emulated: its JSON events on stdout (like ``rtl_433 -F json``) or on MQTT (``-F mqtt``).

The events are the ones rtl_433's decoders print for the sensors in docs/rtl433.md
(Kerui-Security PIR and contact, Honeywell-Security contact, Generic-Remote EV1527
codes), each radio burst repeated the way the decoders report it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

EVENTS: dict[str, dict[str, Any]] = {
    "kerui_motion": {"model": "Kerui-Security", "id": 840811, "cmd": 10, "motion": 1, "state": "motion"},
    "kerui_open": {"model": "Kerui-Security", "id": 840811, "cmd": 14, "opened": 1, "state": "open"},
    "kerui_close": {"model": "Kerui-Security", "id": 840811, "cmd": 7, "opened": 0, "state": "close"},
    "honeywell_open": {"model": "Honeywell-Security", "id": 123456, "channel": 8, "event": 128, "state": "open",
                       "contact_open": 1, "reed_open": 0, "alarm": 0, "tamper": 0, "battery_ok": 1,
                       "heartbeat": 0, "mic": "CRC"},
    "honeywell_close": {"model": "Honeywell-Security", "id": 123456, "channel": 8, "event": 0, "state": "closed",
                        "contact_open": 0, "reed_open": 0, "alarm": 0, "tamper": 0, "battery_ok": 1,
                        "heartbeat": 0, "mic": "CRC"},
    "generic_sos": {"model": "Generic-Remote", "id": 4660, "cmd": 3, "tristate": "0Z0ZXZ0Z000X"},
}


def event_line(event: str | dict[str, Any], now: float | None = None) -> str:
    """One JSON line as rtl_433 prints it, with its local ``time`` field (``{"__raw__": text}``: text as is)."""
    if isinstance(event, dict) and "__raw__" in event:
        return str(event["__raw__"])
    body = dict(EVENTS[event]) if isinstance(event, str) else dict(event)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now if now is not None else time.time()))
    return json.dumps({"time": stamp, **body})


def play_stdout(steps: list[tuple[float, str | dict[str, Any]]], out: TextIO = sys.stdout,
                repeats: int = 2) -> None:
    for after, event in steps:
        time.sleep(after)
        for _ in range(repeats):  # a burst: the decoder reports more than one copy
            out.write(event_line(event) + "\n")
        out.flush()
