"""Subscribe to a Zigbee2MQTT instance's broker and emit observations.

This is its own broker connection, not the platform's: Zigbee2MQTT usually runs
on a local mosquitto that the platform never sees. paho runs its network loop
in its own thread and reconnects by itself with capped backoff; each message is
handed to the event loop, where the codec runs, so observations reach the
pipeline on the loop's thread like every other driver's (``drivers/mqtt_feed.py``,
shared with rtl_433's MQTT output). A broker that floods the hub is cut off at
``MAX_BACKLOG`` messages waiting, counted, never queued without bound.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from detection.events import Observation, Stamp
from drivers.mqtt_feed import Broker, MqttFeed
from drivers.zigbee2mqtt.codec import (
    MAX_BRIDGE_PAYLOAD,
    BridgeDevice,
    Decoded,
    Heard,
    Problem,
    Zigbee2MqttCodec,
    ZigbeeDevice,
)

log = structlog.get_logger("carehub.zigbee2mqtt")

MAX_BACKLOG = 5000
BAD_MESSAGE_LOG_S = 60.0


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: str = ""
    username: str = ""
    password: str = ""
    base_topic: str = "zigbee2mqtt"
    client_id: str = "carehub-zigbee2mqtt"
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0


class Zigbee2MqttDriver:
    name = "zigbee2mqtt"

    def __init__(self, settings: BrokerSettings, devices: Iterable[ZigbeeDevice],
                 emit: Callable[[Observation], None], clock: Callable[[], Stamp], *,
                 on_heard: Callable[[Heard, Stamp], None] | None = None,
                 on_bridge_devices: Callable[[list[BridgeDevice]], None] | None = None) -> None:
        self.settings = settings
        self.codec = Zigbee2MqttCodec(devices, settings.base_topic)
        self._emit = emit
        self._clock = clock
        self._on_heard = on_heard  # the hub's learn mode
        self._on_bridge_devices = on_bridge_devices
        self.counters: Counter[str] = Counter()
        self.connected = False
        self.devices_state: dict[str, dict[str, Any]] = {}  # configured id -> last known fields
        self.bridge_devices: list[BridgeDevice] = []
        self.unknown_names: Counter[str] = Counter()  # friendly names heard but not configured (learn mode)
        self._logged_at: dict[str, float] = {}
        self._quiet: Counter[str] = Counter()

    def update_devices(self, devices: Iterable[ZigbeeDevice]) -> None:
        self.codec.update_devices(devices)

    def status(self) -> dict[str, Any]:
        return {"broker": f"{self.settings.host}:{self.settings.port}", "connected": self.connected,
                "counters": dict(self.counters), "devices": {k: dict(v) for k, v in self.devices_state.items()},
                "bridge_devices": len(self.bridge_devices),
                "unknown_names": dict(self.unknown_names.most_common(20))}

    async def run(self) -> None:
        s = self.settings
        broker = Broker(s.host, s.port, s.client_id, tls=s.tls, ca_file=s.ca_file, username=s.username,
                        password=s.password, keepalive_s=s.keepalive_s, reconnect_min_s=s.reconnect_min_s,
                        reconnect_max_s=s.reconnect_max_s,
                        # The broker must not send us more than the largest message we would read.
                        max_packet_bytes=MAX_BRIDGE_PAYLOAD + 4096)
        feed = MqttFeed(broker, [(topic, 1) for topic in self.codec.subscriptions()], on_message=self._handle,
                        on_state=self._state, counters=self.counters, family="zigbee2mqtt", max_backlog=MAX_BACKLOG)
        try:
            await feed.run()
        finally:
            self.connected = False

    def _state(self, up: bool, why: str) -> None:
        if not up and why:
            self._log_connect_problem(why)
        else:
            self._set_connected(up)

    # --- the event loop ---------------------------------------------------------------------

    def _set_connected(self, up: bool) -> None:
        if up == self.connected:
            return
        self.connected = up
        if up:
            self.counters["connected"] += 1
            self._logged_at.pop("connect", None)
            log.info("zigbee2mqtt.connected", broker=f"{self.settings.host}:{self.settings.port}",
                     base_topic=self.settings.base_topic)
        else:
            self.counters["disconnected"] += 1
            log.warning("zigbee2mqtt.disconnected", broker=f"{self.settings.host}:{self.settings.port}")

    def _log_connect_problem(self, why: str) -> None:
        self.counters["connect_failed"] += 1
        if "connect" not in self._logged_at:  # once per outage
            self._logged_at["connect"] = time.monotonic()
            log.warning("zigbee2mqtt.connect_failed", broker=f"{self.settings.host}:{self.settings.port}",
                        reason=why)

    def _handle(self, topic: str, payload: bytes, retained: bool) -> None:
        self.counters["messages"] += 1
        at = self._clock()
        try:
            decoded = self.codec.decode(topic, payload, at, retained=retained)
        except Exception:  # the codec is tested, but no message may stop the hub
            self.counters["decode_crashed"] += 1
            if self._due("decode_crashed"):
                log.exception("zigbee2mqtt.decode_crashed", topic=topic[:200])
            return
        if decoded.bridge_devices is not None:
            self.bridge_devices = decoded.bridge_devices
            log.info("zigbee2mqtt.bridge_devices", count=len(decoded.bridge_devices))
        if decoded.problem is not None:
            self.counters[decoded.problem.value] += 1
            if decoded.problem is Problem.UNKNOWN_DEVICE and decoded.friendly_name:
                if decoded.friendly_name in self.unknown_names or len(self.unknown_names) < 200:
                    self.unknown_names[decoded.friendly_name] += 1
            elif self._due(decoded.problem.value):
                log.warning("zigbee2mqtt.bad_message", problem=decoded.problem.value, topic=topic[:200],
                            count=self.counters[decoded.problem.value],
                            not_logged_since=self._quiet.pop(decoded.problem.value, 0))
        if decoded.device is not None and decoded.state:
            self.devices_state.setdefault(decoded.device, {}).update(decoded.state)
        for obs in decoded.observations:
            self.counters["observations"] += 1
            self._emit(obs)
        self._tell_learn_mode(decoded, at, retained)

    def _tell_learn_mode(self, decoded: Decoded, at: Stamp, retained: bool) -> None:
        """After the observations: learn mode's bookkeeping must never cost a help press."""
        try:
            if decoded.bridge_devices is not None and self._on_bridge_devices is not None:
                self._on_bridge_devices(decoded.bridge_devices)
            if decoded.heard is not None and self._on_heard is not None and not retained:
                self._on_heard(decoded.heard, at)  # an old state the broker replays is not "heard now"
        except Exception:
            self.counters["learn_failed"] += 1
            if self._due("learn_failed"):
                log.exception("zigbee2mqtt.learn_failed")

    def _due(self, kind: str) -> bool:
        """Each kind of bad message is logged once per interval, with how many were not."""
        now = time.monotonic()
        last = self._logged_at.get(kind)
        if last is not None and now - last < BAD_MESSAGE_LOG_S:
            self._quiet[kind] += 1
            return False
        self._logged_at[kind] = now
        return True
