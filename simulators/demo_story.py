"""What the demo says, in plain words: the flat's time of day, the hub's log events, the platform's messages.

The demo runs a compressed morning, so each line carries both the seconds since
the demo started and the simulated time of day in the flat. Alerts are told in
the order they happen on the hub: stored durably on the hub first, then sent,
then received and acknowledged by the platform.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from simulators.platform import PlatformEmulator

WHAT = {"help_call": "help call", "fall": "fall", "battery_low": "low battery", "inactivity": "inactivity",
        "room_dwell": "still in one room for too long", "device_offline": "a sensor stopped reporting",
        "no_wake": "no sign of getting up", "night_wandering": "out of the flat at night", "test": "test alarm"}
ROOMS = {"living": "living room", "other": "flat"}
SEVERITY = {"emergency": "an EMERGENCY", "urgent": "an URGENT alert", "technical": "a technical alert",
            "wellbeing": "a wellbeing notice", "info": "a low-priority notice"}


def what(kind: Any) -> str:
    return WHAT.get(str(kind), str(kind).replace("_", " "))


def room(name: Any) -> str:
    return ROOMS.get(str(name), str(name).replace("_", " "))


class Story:
    """Prints the demo's lines; knows the simulated time of day and the last room where someone moved."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._started = time.monotonic()
        self._sim: tuple[float, float] | None = None  # (simulated local seconds, monotonic time then)
        self.last_room: str | None = None
        self._lock = threading.Lock()

    def at(self, local: float) -> None:
        """The flat's clock now reads ``local`` (it then runs at real speed until moved again)."""
        self._sim = (local, time.monotonic())

    def moved(self, room: str) -> None:
        self.last_room = room

    def clock(self) -> str:
        if self._sim is None:
            return "     "
        local = self._sim[0] + time.monotonic() - self._sim[1]
        return time.strftime("%H:%M", time.gmtime(local))

    def __call__(self, text: str) -> None:
        with self._lock:  # lines come from the hub's log, the platform and the scenes at once
            self._say(f"[{time.monotonic() - self._started:5.1f}s  {self.clock()}] {text}")

    def room_of(self, where: Any, kind: Any, inferred: bool = False) -> str:
        """Where: the alert's own room, or for a wearable's fall the last room where she was sensed."""
        if where and inferred:
            return f"(the pendant does not know the room; the hub says she was last sensed in the {room(where)})"
        if where:
            return f"in the {room(where)}"
        if kind == "fall" and self.last_room:
            return f"(a pendant does not know the room; she was last sensed in the {room(self.last_room)})"
        return "(room not known)"


def hub_lines(story: Story) -> dict[str, Callable[[dict[str, Any]], str]]:
    """The daemon's log events worth telling, and how."""
    def stored(e: dict[str, Any]) -> str:
        return (f"hub: alert {e['id'][:8]} stored durably on the hub's card: {e.get('severity')} "
                f"{what(e.get('type'))} {story.room_of(e.get('room'), e.get('type'), bool(e.get('room_inferred')))}")

    return {
        "hub.ready": lambda e: f"hub: ready (site {e.get('site')}, {e.get('devices')} devices configured)",
        "uplink.connected": lambda e: f"hub: connected to the platform's broker {e.get('broker')}",
        "rflink.opened": lambda e: "hub: opened the RFLink 433 MHz gateway",
        "radar.opened": lambda e: f"hub: opened the {e.get('model')} radar {e.get('radar')}",
        "zigbee2mqtt.connected": lambda e: f"hub: subscribed to Zigbee2MQTT at {e.get('broker')}",
        "rtl433.started": lambda e: "hub: started rtl_433, which decodes the SDR dongle's 433 MHz sensors",
        "alert.stored": stored,
        "alert.cancel_window": lambda e: f"hub: holds alert {e['id'][:8]} for {e.get('seconds'):g} s, "
                                         "the time the wearer has to cancel it",
        "alert.cancelled": lambda e: f"hub: alert {e['id'][:8]} cancelled ({e.get('reason')})",
        "alert.published": lambda e: f"hub: alert {e['id'][:8]} sent; the broker confirmed it has it",
        "alert.escalated": lambda e: f"hub: no acknowledgement in time: alert {e['id'][:8]} sent again at "
                                     f"escalation level {e.get('escalation_level')}",
        "alert.acked": lambda e: f"hub: the platform acknowledged alert {e['id'][:8]}; it is closed",
        "ble.connected": lambda e: f"hub: connected to the wearable {e.get('wearable')} ({e.get('profile')} profile)",
        "alert.raised_after_window": lambda e: f"hub: nobody cancelled alert {e['id'][:8]}: it goes out as an "
                                               "emergency",
        "web.setup_code": lambda e: f"technician page: {e.get('url')}  setup code: {e.get('code')}",
        "web.listening": lambda e: f"technician page listening on {e.get('url')}",
    }


def platform_line(story: Story, alert: dict[str, Any]) -> str:
    """An alert as the platform received it, without the wire format's field names."""
    sid, kind = alert["id"][:8], alert.get("type")
    extra = [f"message {alert.get('seq')}"]
    if alert.get("level"):
        extra.append(f"escalation level {alert['level']}")
    if alert.get("historical"):
        extra.append("historical: it left the hub late")
    if alert.get("state") == "cancelled":
        return f"platform: received: the {what(kind)} alert {sid} was cancelled by the wearer ({', '.join(extra)})"
    if alert.get("state") not in (None, "open"):
        return f"platform: received: alert {sid} is now {alert.get('state')} ({', '.join(extra)})"
    severity = SEVERITY.get(str(alert.get("severity")), str(alert.get("severity")))
    inferred = "room_inferred" in (alert.get("evidence") or {})
    return (f"platform: received {severity}: {what(kind)} {story.room_of(alert.get('room'), kind, inferred)} "
            f"(alert {sid}, {', '.join(extra)})")


class StoryPlatform(PlatformEmulator):
    """The platform emulator, telling each alert in plain words once the hub has said it stored it."""

    def __init__(self, *args: Any, story: Story, stored: Callable[[str, int], bool], **kw: Any) -> None:
        # The emulator's own alert line (wire fields) is left out; the story tells it instead.
        super().__init__(*args, printer=lambda s: None if s.startswith("platform <- ") else story(
            s.replace("platform <- hub status", "platform: hub status").replace("platform -> ack",
                                                                                 "platform: acknowledges")), **kw)
        self._story = story
        self._stored = stored

    def _maybe_ack(self, topic: str, alert: dict[str, Any]) -> None:
        # The hub commits an alert before it publishes it, but its log reaches the demo through a pipe,
        # later than the broker's copy: wait (briefly) for its "stored" and "sent" lines, so that the story
        # tells them in the order they happened.
        self._stored(alert["id"], sum(1 for a in self.alerts if a["id"] == alert["id"]))
        self._story(platform_line(self._story, alert))
        super()._maybe_ack(topic, alert)


def morning_summary(status: dict[str, Any], rooms: dict[str, str]) -> list[str]:
    """What the hub made of the morning, from its own status reply (what the platform can ask any time)."""
    def kind(d: dict[str, Any]) -> str:
        return str(d.get("kind", "")).rsplit(":", 1)[-1]  # "rtl433:door", "zigbee:pir" -> door, pir

    devices = [d for d in status.get("devices", []) if not str(d.get("kind", "")).startswith("wearable")]
    heard = [d for d in devices if d.get("last_seen_wall")]
    silent = [d["id"] for d in devices if not d.get("last_seen_wall")]
    lines = [f"hub, asked by the platform (request/status): heard {len(heard)} of its {len(devices)} sensors"
             + (f"; not yet: {', '.join(silent)}" if silent else "")]
    sensed = [d for d in heard if kind(d) in ("pir", "door", "bed", "seat", "toilet_flush", "fridge")]
    if sensed:
        last = max(sensed, key=lambda d: d["last_seen_wall"])
        where = room(last.get("room") or rooms.get(last["id"]))
        lines.append(f"  last sign of life: {kind(last)} {last['id']} in the {where}")
    opened = [d["id"] for d in heard if kind(d) == "door" and d.get("active")]
    lines.append("  doors: " + (f"open now: {', '.join(opened)}" if opened else "all closed"))
    learning = status.get("home_learning") or {}
    if learning:
        lines.append(f"  routine: {learning.get('days_learned', 0):g} day seen; " + (
            "still learning her habits, so inactivity limits are the configured ones, never a guess"
            if learning.get("learning") else "it has learned how long she is usually quiet"))
    alerts = status.get("open_alerts", [])
    lines.append("  conclusion: " + ("nothing unusual for a morning, no alert" if not alerts else
                                     "open: " + ", ".join(f"{what(a['type'])} ({a.get('device')})" for a in alerts)))
    return lines
