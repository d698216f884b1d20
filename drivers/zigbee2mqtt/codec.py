"""Zigbee2MQTT messages -> observations. Pure: topic, payload and stamp in, data out.

Zigbee2MQTT publishes each device's state as JSON on ``<base>/<friendly_name>``,
its availability on ``<base>/<friendly_name>/availability`` (``online``/``offline``,
or ``{"state": "online"}`` since Zigbee2MQTT 1.x's new availability payload) and
its device list on ``<base>/bridge/devices``. Field meanings follow the device
pages on zigbee2mqtt.io (docs/zigbee.md lists those used as golden vectors):
``occupancy`` and ``presence`` (bool), ``contact`` (bool, **false means open**),
``action`` (a button's event, e.g. ``emergency``), ``sos`` (IAS alarm bit),
``battery`` (%), ``battery_low``, ``linkquality`` (LQI 0-255) and ``tamper``.

Zigbee2MQTT repeats a device's whole cached state in every message (a battery
report also says ``occupancy: true`` again), so state fields become observations
only when they change, and retained messages (an old state replayed at
subscribe) only set what "changed" is measured from. ``action`` is not cached
by Zigbee2MQTT, so every ``action`` is an event. Unknown fields are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from detection.events import (
    ButtonAction,
    ButtonPress,
    Contact,
    DeviceStatus,
    Motion,
    Observation,
    Presence,
    PresenceState,
    PressPattern,
    Stamp,
)
from drivers.zigbee2mqtt.actions import press_pattern

MAX_PAYLOAD = 64 * 1024  # a device state is a few hundred bytes
MAX_BRIDGE_PAYLOAD = 4 * 1024 * 1024  # bridge/devices lists every device with its exposes
DEFAULT_HELP_ACTIONS = ("emergency", "sos", "panic")


class Problem(StrEnum):
    OVERSIZE = "oversize"
    MALFORMED = "malformed"  # not JSON, or not an object where one is needed
    UNKNOWN_DEVICE = "unknown_device"
    UNMAPPED_ACTION = "unmapped_action"


@dataclass(frozen=True, slots=True)
class ZigbeeDevice:
    """A configured friendly name and what it is (kind: pir, door, sos, bed, seat, presence, ...)."""

    id: str
    friendly_name: str
    kind: str
    room: str
    help_actions: tuple[str, ...] = DEFAULT_HELP_ACTIONS
    cancel_actions: tuple[str, ...] = ()
    # The button has press patterns (config ``presses``): its single/double/hold actions become presses.
    patterns: bool = False


@dataclass(frozen=True, slots=True)
class BridgeDevice:
    """One entry of ``bridge/devices`` (for learn mode)."""

    friendly_name: str
    ieee_address: str
    type: str
    model: str
    vendor: str
    # The properties of ``definition.exposes`` (nested features flattened: "occupancy", "contact",
    # "action", "presence", "battery"...), what learn mode guesses the kind from.
    exposes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Heard:
    """A device's message, configured or not (for learn mode): which fields it carried."""

    friendly_name: str
    fields: tuple[str, ...]  # the known state fields present ("occupancy", "contact", "action", ...)
    action: str  # the action value, if any
    device: str | None  # configured id


@dataclass(slots=True)
class Decoded:
    observations: list[Observation] = field(default_factory=list)
    problem: Problem | None = None
    device: str | None = None  # configured id, when the topic names one
    friendly_name: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # the known fields of this message
    bridge_devices: list[BridgeDevice] | None = None
    heard: Heard | None = None


MAX_EXPOSES = 64  # properties kept per device; a light with every feature has about 20
_HEARD_FIELDS = ("occupancy", "presence", "contact", "action", "sos", "battery", "battery_low", "tamper")
_STATE_FIELDS = ("occupancy", "presence", "contact", "sos", "battery_low", "tamper")


class Zigbee2MqttCodec:
    """Keeps, per device, the last value of each state field (what "changed" is measured from)."""

    def __init__(self, devices: Iterable[ZigbeeDevice], base_topic: str = "zigbee2mqtt") -> None:
        self.base = base_topic.rstrip("/")
        self._by_name: dict[str, ZigbeeDevice] = {}
        self._last: dict[str, dict[str, Any]] = {}
        self.update_devices(devices)

    def update_devices(self, devices: Iterable[ZigbeeDevice]) -> None:
        self._by_name = {d.friendly_name: d for d in devices}

    def subscriptions(self) -> list[str]:
        return [f"{self.base}/#"]

    def decode(self, topic: str, payload: bytes, at: Stamp, *, retained: bool = False) -> Decoded:
        if not topic.startswith(self.base + "/"):
            return Decoded()
        rest = topic[len(self.base) + 1:]
        if rest == "bridge/devices":
            return self._bridge_devices(payload)
        if rest.startswith("bridge/"):
            return Decoded()  # bridge state, info, logging, responses: not device events
        if len(payload) > MAX_PAYLOAD:
            return Decoded(problem=Problem.OVERSIZE, friendly_name=rest[:120])
        name, availability = rest, False
        if rest.endswith("/availability"):
            name, availability = rest[: -len("/availability")], True
        elif "/" in rest and rest.rsplit("/", 1)[1] in ("set", "get"):
            return Decoded()  # commands to devices, also on this broker
        dev = self._by_name.get(name)
        if dev is None:
            return self._unknown(name[:120], payload, availability)
        if availability:
            return self._availability(dev, payload, at)
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return Decoded(problem=Problem.MALFORMED, device=dev.id, friendly_name=name)
        if not isinstance(data, dict):
            return Decoded(problem=Problem.MALFORMED, device=dev.id, friendly_name=name)
        out = self._state(dev, data, at, retained)
        out.heard = _heard(name, data, dev.id)
        return out

    @staticmethod
    def _unknown(name: str, payload: bytes, availability: bool) -> Decoded:
        """A device nobody configured: counted, and what it said kept for learn mode."""
        out = Decoded(problem=Problem.UNKNOWN_DEVICE, friendly_name=name)
        if not availability:
            try:
                data = json.loads(payload)
            except (ValueError, UnicodeDecodeError):
                data = None
            out.heard = _heard(name, data if isinstance(data, dict) else {}, None)
        return out

    # --- messages -------------------------------------------------------------------------

    def _availability(self, dev: ZigbeeDevice, payload: bytes, at: Stamp) -> Decoded:
        text = payload.decode("utf-8", "replace").strip()
        state: Any = text
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            state = obj.get("state") if isinstance(obj, dict) else None
        if state not in ("online", "offline"):
            return Decoded(problem=Problem.MALFORMED, device=dev.id, friendly_name=dev.friendly_name)
        obs = DeviceStatus(device=dev.id, at=at, room=dev.room, connected=state == "online")
        return Decoded([obs], device=dev.id, friendly_name=dev.friendly_name, state={"availability": state})

    def _state(self, dev: ZigbeeDevice, data: dict[str, Any], at: Stamp, retained: bool) -> Decoded:
        out = Decoded(device=dev.id, friendly_name=dev.friendly_name)
        last = self._last.setdefault(dev.id, {})
        changed: dict[str, bool] = {}
        for key in _STATE_FIELDS:
            value = data.get(key)
            if isinstance(value, bool):
                out.state[key] = value
                if last.get(key) != value:
                    changed[key] = value
                last[key] = value
        for key, top in (("battery", 100), ("linkquality", 255)):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
                    and 0 <= value <= top:
                out.state[key] = value
        action = data.get("action")
        if isinstance(action, str) and action:
            out.state["action"] = action
        if retained:
            return out  # an old state replayed by the broker: a starting point, not an event
        obs = out.observations
        kind = dev.kind
        for key in ("occupancy", "presence"):
            if key in changed:
                active = changed[key]
                if kind == "pir":
                    obs.append(Motion(device=dev.id, at=at, room=dev.room, active=active))
                elif kind == "presence":
                    obs.append(Presence(device=dev.id, at=at, room=dev.room,
                                        state=PresenceState.PRESENT if active else PresenceState.NONE))
                else:  # a bed or seat pad, or anything else that says "occupied"
                    obs.append(Contact(device=dev.id, at=at, room=dev.room, kind=_contact_kind(kind),
                                       active=active))
        if "contact" in changed:
            obs.append(Contact(device=dev.id, at=at, room=dev.room, kind=_contact_kind(kind),
                               active=not changed["contact"]))  # contact false: the magnet is away, open
        if changed.get("sos"):
            obs.append(ButtonPress(device=dev.id, at=at, room=dev.room, pattern=PressPattern.ALARM))
        if isinstance(action, str) and action:
            if action in dev.help_actions:
                # The device's own alarm: an emergency whatever its press patterns say.
                obs.append(ButtonPress(device=dev.id, at=at, room=dev.room, pattern=PressPattern.ALARM))
            elif action in dev.cancel_actions:
                obs.append(ButtonPress(device=dev.id, at=at, room=dev.room, action=ButtonAction.CANCEL))
            elif dev.patterns and (pattern := press_pattern(action)) is not None:
                obs.append(ButtonPress(device=dev.id, at=at, room=dev.room, pattern=pattern))
            elif kind == "sos":
                out.problem = Problem.UNMAPPED_ACTION  # a button whose action nobody mapped: say so
        battery = out.state.get("battery")
        if battery is not None or "battery_low" in out.state:
            # Every report, not only changes: it is also how supervision hears a quiet sensor is alive.
            obs.append(DeviceStatus(device=dev.id, at=at, room=dev.room,
                                    battery_low=out.state.get("battery_low"),
                                    battery_pct=None if battery is None else float(battery)))
        return out

    def _bridge_devices(self, payload: bytes) -> Decoded:
        if len(payload) > MAX_BRIDGE_PAYLOAD:
            return Decoded(problem=Problem.OVERSIZE, friendly_name="bridge/devices")
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return Decoded(problem=Problem.MALFORMED, friendly_name="bridge/devices")
        if not isinstance(data, list):
            return Decoded(problem=Problem.MALFORMED, friendly_name="bridge/devices")
        found = []
        for d in data:
            if not isinstance(d, dict) or d.get("type") == "Coordinator":
                continue
            definition = d.get("definition") if isinstance(d.get("definition"), dict) else {}
            found.append(BridgeDevice(
                friendly_name=str(d.get("friendly_name", ""))[:120], ieee_address=str(d.get("ieee_address", ""))[:64],
                type=str(d.get("type", ""))[:32], model=str(definition.get("model", "") if definition else "")[:64],
                vendor=str(definition.get("vendor", "") if definition else "")[:64],
                exposes=_exposes(definition.get("exposes") if definition else None),
            ))
        return Decoded(bridge_devices=found, friendly_name="bridge/devices")


def _heard(name: str, data: dict[str, Any], device: str | None) -> Heard:
    action = data.get("action")
    return Heard(name, tuple(k for k in _HEARD_FIELDS if k in data and data[k] is not None),
                 action[:64] if isinstance(action, str) else "", device)


def _exposes(exposes: Any) -> tuple[str, ...]:
    """The properties a device exposes, nested features included, in order, without repeats."""
    out: list[str] = []
    stack = list(reversed(exposes)) if isinstance(exposes, list) else []
    steps = 0
    while stack and len(out) < MAX_EXPOSES and steps < 4 * MAX_EXPOSES:  # bounded whatever the list holds
        steps += 1
        e = stack.pop()
        if not isinstance(e, dict):
            continue
        prop = e.get("property") or e.get("name")
        if isinstance(prop, str) and prop and prop not in out:
            out.append(prop[:64])
        features = e.get("features")
        if isinstance(features, list):
            stack.extend(reversed(features[:MAX_EXPOSES]))
    return tuple(out)


def _contact_kind(kind: str) -> str:
    return kind if kind in ("door", "bed", "seat", "toilet_flush", "cabinet", "fridge") else "other"
