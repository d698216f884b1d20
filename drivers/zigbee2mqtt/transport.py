"""Subscribe to a Zigbee2MQTT instance's broker and emit observations.

This is its own broker connection, not the platform's: Zigbee2MQTT usually runs
on a local mosquitto that the platform never sees. paho runs its network loop
in its own thread and reconnects by itself with capped backoff; each message is
handed to the event loop, where the codec runs, so observations reach the
pipeline on the loop's thread like every other driver's. A broker that floods
the hub is cut off at ``MAX_BACKLOG`` messages waiting, counted, never queued
without bound.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from detection.events import Observation, Stamp
from drivers.zigbee2mqtt.codec import MAX_BRIDGE_PAYLOAD, BridgeDevice, Problem, Zigbee2MqttCodec, ZigbeeDevice

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
                 emit: Callable[[Observation], None], clock: Callable[[], Stamp]) -> None:
        self.settings = settings
        self.codec = Zigbee2MqttCodec(devices, settings.base_topic)
        self._emit = emit
        self._clock = clock
        self.counters: Counter[str] = Counter()
        self.connected = False
        self.devices_state: dict[str, dict[str, Any]] = {}  # configured id -> last known fields
        self.bridge_devices: list[BridgeDevice] = []
        self.unknown_names: Counter[str] = Counter()  # friendly names heard but not configured (learn mode)
        self._backlog = 0
        self._logged_at: dict[str, float] = {}
        self._quiet: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None

    def update_devices(self, devices: Iterable[ZigbeeDevice]) -> None:
        self.codec.update_devices(devices)

    def status(self) -> dict[str, Any]:
        return {"broker": f"{self.settings.host}:{self.settings.port}", "connected": self.connected,
                "counters": dict(self.counters), "devices": {k: dict(v) for k, v in self.devices_state.items()},
                "bridge_devices": len(self.bridge_devices),
                "unknown_names": dict(self.unknown_names.most_common(20))}

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            client = self._make_client()
        except (OSError, ssl.SSLError, ValueError) as exc:
            # A CA file that cannot be read will not fix itself: say so once and wait for new settings.
            self.counters["settings_error"] += 1
            log.error("zigbee2mqtt.settings_error", error=f"TLS files (zigbee2mqtt.ca_file): {exc}")
            await asyncio.Event().wait()
            return
        s = self.settings
        client.connect_async(s.host, s.port, keepalive=s.keepalive_s, clean_start=True,
                             properties=self._connect_properties())
        client.loop_start()  # paho's thread: connects, retries with backoff, reads
        try:
            await asyncio.Event().wait()
        finally:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
            self.connected = False

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
        client.reconnect_delay_set(min_delay=max(1, round(s.reconnect_min_s)),
                                   max_delay=max(1, round(s.reconnect_max_s)))
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls:
            client.tls_set(ca_certs=s.ca_file or None, cert_reqs=ssl.CERT_REQUIRED,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # The broker must not send us more than the largest message we would read.
        props.MaximumPacketSize = MAX_BRIDGE_PAYLOAD + 4096
        return props

    # --- paho's thread ----------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._call(self._log_connect_problem, str(reason))
            return
        for topic in self.codec.subscriptions():
            client.subscribe(topic, qos=1)
        self._call(self._set_connected, True)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._call(self._log_connect_problem, "connection failed")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._call(self._set_connected, False)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # Approximate across the two threads, which is all a bound on memory needs.
        if self._backlog >= MAX_BACKLOG:
            self.counters["dropped_backlog"] += 1
            return
        self._backlog += 1
        self._call(self._handle, msg.topic, bytes(msg.payload), bool(msg.retain))

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop closed between the check and the call
                pass

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
        self._backlog -= 1
        self.counters["messages"] += 1
        try:
            decoded = self.codec.decode(topic, payload, self._clock(), retained=retained)
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

    def _due(self, kind: str) -> bool:
        """Each kind of bad message is logged once per interval, with how many were not."""
        now = time.monotonic()
        last = self._logged_at.get(kind)
        if last is not None and now - last < BAD_MESSAGE_LOG_S:
            self._quiet[kind] += 1
            return False
        self._logged_at[kind] = now
        return True
