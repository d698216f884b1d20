"""rtl_433 JSON events -> observations. Pure: a JSON line and a stamp in, data out.

rtl_433 (an SDR dongle decoding 433/868 MHz) prints one JSON object per decoded
transmission, with ``-F json`` on stdout or ``-F mqtt`` on ``rtl_433/<host>/events``,
e.g. ``{"time" : "2022-03-23 20:11:54", "model" : "Kerui-Security", "id" : 840811,
"cmd" : 10, "motion" : 1, "state" : "motion"}``. A device is ``model`` + ``id``
(+ ``channel``, ``subtype`` where the decoder has them); ``id`` is a number or a
string depending on the decoder, and is compared as text.

What a message means is read from the fields rtl_433's decoders use: ``motion``,
``state`` (motion / open / close / closed), ``contact_open``, ``opened``,
``alarm``, ``battery_ok``. A generic 433 MHz code (``Generic-Remote``: EV1527 /
PT2262 ``cmd`` and ``tristate``) says nothing by itself, and cheap sensors differ,
so a device may list the codes it sends when active and when inactive (learn
mode records them); with no codes listed, any code is "active".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from detection.events import ButtonAction, ButtonPress, Contact, DeviceStatus, Motion, Observation, Stamp

MAX_LINE = 8192  # rtl_433 events are a few hundred bytes
REPEAT_WINDOW_S = 1.5  # one press, several copies in a burst
_TRUE = (1, True, "1", "true", "on", "yes")
_FALSE = (0, False, "0", "false", "off", "no")


class Problem(StrEnum):
    OVERSIZE = "oversize"
    MALFORMED = "malformed"
    UNKNOWN_DEVICE = "unknown_device"
    NO_MEANING = "no_meaning"  # a configured device sent something we cannot read as a state


@dataclass(frozen=True, slots=True)
class Rtl433Device:
    id: str
    model: str
    address: str  # rtl_433's "id", as text
    kind: str  # pir, door, sos, bed, seat, toilet_flush, cabinet, fridge, other
    room: str
    channel: str = ""  # empty: any
    subtype: str = ""
    active_codes: tuple[str, ...] = ()  # cmd or tristate values meaning active (Generic-Remote)
    inactive_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Heard:
    """A transmission rtl_433 decoded, configured or not (for learn mode)."""

    model: str
    address: str
    channel: str
    subtype: str
    code: str  # cmd, tristate or state: what told this transmission apart
    device: str | None
    # The decoder's fields that say what the sensor is ("contact_open", "motion", "state=open"):
    # learn mode guesses a kind from them.
    meaning: tuple[str, ...] = ()


@dataclass(slots=True)
class Decoded:
    observations: list[Observation] = field(default_factory=list)
    heard: Heard | None = None
    problem: Problem | None = None


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return str(int(v))
    return str(v).strip().lower() if isinstance(v, str) else ""


def _flag(v: Any) -> bool | None:
    if isinstance(v, str):
        v = v.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


_MEANING_FLAGS = ("contact_open", "opened", "motion", "alarm", "button", "tamper")


def _meaning(data: dict[str, Any]) -> tuple[str, ...]:
    out = [k for k in _MEANING_FLAGS if k in data]
    state = _text(data.get("state"))
    if state:
        out.append("state=" + state[:16])
    return tuple(out)


class Rtl433Codec:
    """Keeps the last battery state per device (battery-low is said once) and folds radio bursts."""

    def __init__(self, devices: Iterable[Rtl433Device]) -> None:
        self._devices: list[Rtl433Device] = []
        self._battery_low: dict[str, bool] = {}
        self._last: dict[tuple[str, str], float] = {}
        self.update_devices(devices)

    def update_devices(self, devices: Iterable[Rtl433Device]) -> None:
        self._devices = list(devices)

    def decode(self, line: bytes | str, at: Stamp) -> Decoded:
        if len(line) > MAX_LINE:
            return Decoded(problem=Problem.OVERSIZE)
        try:
            data = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return Decoded(problem=Problem.MALFORMED)
        if not isinstance(data, dict) or not isinstance(data.get("model"), str) or "id" not in data:
            return Decoded(problem=Problem.MALFORMED)
        model, address = data["model"], _text(data["id"])
        channel, subtype = _text(data.get("channel")), _text(data.get("subtype"))
        code = next((_text(data[k]) for k in ("cmd", "tristate", "state", "code") if k in data), "")
        dev = self._match(model, address, channel, subtype)
        heard = Heard(model[:64], address[:64], channel[:16], subtype[:16], code[:64], dev.id if dev else None,
                      _meaning(data))
        if dev is None:
            return Decoded(heard=heard, problem=Problem.UNKNOWN_DEVICE)
        out = Decoded(heard=heard)
        active = self._active(dev, data, code)
        if active is not None and self._admit(dev.id, f"{code}:{active}", at.t):
            out.observations.append(self._observation(dev, active, at))
        elif active is None and _flag(data.get("battery_ok")) is None:
            out.problem = Problem.NO_MEANING
        battery_ok = _flag(data.get("battery_ok"))
        if battery_ok is not None and self._battery_low.get(dev.id) != (not battery_ok):
            self._battery_low[dev.id] = not battery_ok
            out.observations.append(DeviceStatus(device=dev.id, at=at, room=dev.room, battery_low=not battery_ok))
        return out

    def _match(self, model: str, address: str, channel: str, subtype: str) -> Rtl433Device | None:
        for d in self._devices:
            if d.model == model and d.address.lower() == address and (not d.channel or d.channel.lower() == channel) \
                    and (not d.subtype or d.subtype.lower() == subtype):
                return d
        return None

    @staticmethod
    def _active(dev: Rtl433Device, data: dict[str, Any], code: str) -> bool | None:
        if dev.active_codes or dev.inactive_codes:
            if code in (c.lower() for c in dev.active_codes):
                return True
            if code in (c.lower() for c in dev.inactive_codes):
                return False
            return None
        for key in ("contact_open", "opened", "motion", "alarm"):
            flag = _flag(data.get(key))
            if flag is not None:
                return flag
        state = _text(data.get("state"))
        if state in ("open", "motion", "alarm", "on"):
            return True
        if state in ("close", "closed", "off"):
            return False
        if data.get("model") == "Generic-Remote" or "cmd" in data or "button" in data:
            return True  # a code with no configured meaning: the sensor sent, so it is active
        return None

    def _admit(self, device: str, what: str, t: float) -> bool:
        key = (device, what)
        last = self._last.get(key)
        self._last[key] = t
        if len(self._last) > 4096:  # bounded whatever the radio hears
            self._last = {k: v for k, v in self._last.items() if t - v < REPEAT_WINDOW_S}
        return last is None or t - last > REPEAT_WINDOW_S

    @staticmethod
    def _observation(dev: Rtl433Device, active: bool, at: Stamp) -> Observation:
        if dev.kind == "pir":
            return Motion(device=dev.id, at=at, room=dev.room, active=active)
        if dev.kind == "sos":
            if active:
                return ButtonPress(device=dev.id, at=at, room=dev.room, action=ButtonAction.HELP)
            return DeviceStatus(device=dev.id, at=at, room=dev.room)  # a release: alive, nothing more
        kind = dev.kind if dev.kind in ("door", "bed", "seat", "toilet_flush", "cabinet", "fridge") else "other"
        return Contact(device=dev.id, at=at, room=dev.room, kind=kind, active=active)
