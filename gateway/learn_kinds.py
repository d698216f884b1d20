"""What a device heard in learn mode probably is, from what it sent. Pure: an entry in, a guess out.

Only a guess, shown with its reason and offered as the form's choice; the
installer decides. The rules are what each family's sensors do on the air:

- RFLink: a door contact sends ``CMD=ON`` when it opens and ``CMD=OFF`` when it
  closes; a motion sensor (PIR) sends ``ON`` (or ``PIR=ON``) every time it sees
  movement and never ``OFF``. One ``ON`` alone cannot tell a PIR from a help button.
- rtl_433: a decoder that knows the model says so in its fields (``contact_open``,
  ``opened``, ``state: open/close``: a contact; ``motion``, ``state: motion``: a PIR;
  ``alarm`` or ``button`` alone: a button). A ``Generic-Remote`` (EV1527/PT2262) code
  says nothing by itself: two codes are a contact's open and close, one code
  repeated a PIR; its codes are learnt step by step (``/devices/rtl433/codes``).
- Zigbee2MQTT: what the device exposes (``definition.exposes`` in ``bridge/devices``)
  or sends: ``contact`` a door contact, ``occupancy`` a PIR, ``presence`` a bed or
  seat pad (or, with distances, a presence radar), ``action`` or ``sos`` a button.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GENERIC_MODELS = ("Generic-Remote",)  # rtl_433 decoders of codes that carry no meaning of their own
_RADAR_HINTS = ("target_distance", "distance", "motion_state", "presence_state", "detection_distance",
                "radar_sensitivity", "move_sensitivity")


@dataclass(frozen=True)
class Guess:
    kind: str | None  # a kind the family's config accepts, or None: not enough heard to say
    reason: str  # message key: learn.why.<reason>
    values: dict[str, Any] = field(default_factory=dict)


def guess(entry: Mapping[str, Any]) -> Guess:
    family = entry.get("family")
    if family == "rflink":
        return _rflink(entry)
    if family == "rtl433":
        return _rtl433(entry)
    if family == "zigbee":
        return _zigbee(entry)
    return Guess(None, "unknown")


def is_generic(entry: Mapping[str, Any]) -> bool:
    return entry.get("family") == "rtl433" and entry.get("model") in GENERIC_MODELS


def _codes(entry: Mapping[str, Any]) -> dict[str, int]:
    return {str(c["code"]): int(c["count"]) for c in entry.get("codes", []) if c.get("code") != ""}


def _rflink(entry: Mapping[str, Any]) -> Guess:
    codes = {k.upper(): n for k, n in _codes(entry).items()}
    on = sum(n for k, n in codes.items() if k in ("ON", "ALLON"))
    off = sum(n for k, n in codes.items() if k in ("OFF", "ALLOFF"))
    if on and off:
        return Guess("door", "on_and_off")
    if on >= 2:
        return Guess("pir", "only_on", {"count": on})
    if on == 1:
        return Guess(None, "once")
    return Guess(None, "unknown")


def _rtl433(entry: Mapping[str, Any]) -> Guess:
    meaning = [str(m) for m in entry.get("meaning", [])]
    states = {m.split("=", 1)[1] for m in meaning if m.startswith("state=")}
    if is_generic(entry):
        codes = _codes(entry)
        if len(codes) >= 2:
            return Guess("door", "two_codes", {"codes": ", ".join(sorted(codes))})
        if sum(codes.values()) >= 2:
            return Guess("pir", "one_code", {"count": sum(codes.values())})
        return Guess(None, "generic")
    if "contact_open" in meaning or "opened" in meaning or states & {"open", "close", "closed"}:
        return Guess("door", "says_contact")
    if "motion" in meaning or "motion" in states:
        return Guess("pir", "says_motion")
    if "alarm" in meaning or "button" in meaning or states & {"alarm", "panic", "sos"}:
        return Guess("sos", "says_button")
    return Guess(None, "unknown")


def _zigbee(entry: Mapping[str, Any]) -> Guess:
    bridge = entry.get("bridge") or {}
    fields = set(bridge.get("exposes", [])) | {str(m) for m in entry.get("meaning", [])}
    if "contact" in fields:
        return Guess("door", "exposes", {"field": "contact"})
    if "occupancy" in fields:
        return Guess("pir", "exposes", {"field": "occupancy"})
    if "presence" in fields:
        if fields & set(_RADAR_HINTS):
            return Guess("presence", "exposes_radar")
        return Guess("bed", "exposes", {"field": "presence"})
    if "action" in fields or "sos" in fields:
        return Guess("sos", "exposes", {"field": "action" if "action" in fields else "sos"})
    return Guess(None, "unknown")
