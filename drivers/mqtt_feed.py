"""A subscription to a sensor family's own MQTT broker (Zigbee2MQTT, rtl_433's MQTT output).

Not the platform's connection: these brokers usually run on the hub or the home's
network and the platform never sees them. paho runs its network loop in its own
thread and reconnects by itself with capped backoff; each message is handed to the
event loop, where the family's codec runs, so observations reach the pipeline on the
loop's thread like every other driver's. A broker that floods the hub is cut off at
``max_backlog`` messages waiting, counted, never queued without bound; TLS files that
cannot be read are said once, and the feed waits for new settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = structlog.get_logger("carehub.mqtt_feed")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    client_id: str
    tls: bool = False
    ca_file: str = ""
    username: str = ""
    password: str = ""
    protocol: Literal["3.1.1", "5"] = "5"
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    max_packet_bytes: int | None = None  # MQTT 5: the broker must drop anything larger

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class MqttFeed:
    def __init__(self, broker: Broker, topics: Sequence[tuple[str, int]], *,
                 on_message: Callable[[str, bytes, bool], None], on_state: Callable[[bool, str], None],
                 counters: Counter[str], family: str, max_backlog: int = 5000) -> None:
        """``on_message(topic, payload, retained)`` and ``on_state(connected, why)`` run on the loop."""
        self.broker = broker
        self.topics = list(topics)
        self._on_message = on_message
        self._on_state = on_state
        self.counters = counters
        self._family = family
        self._max_backlog = max_backlog
        self._backlog = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        b = self.broker
        try:
            client = self._client()
        except (OSError, ssl.SSLError, ValueError) as exc:
            # A CA file that cannot be read will not fix itself: say so once and wait for new settings.
            self.counters["settings_error"] += 1
            log.error(f"{self._family}.settings_error", error=f"TLS files ({self._family}.ca_file): {exc}")
            await asyncio.Event().wait()
            return
        if b.protocol == "5":
            props = None
            if b.max_packet_bytes:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.MaximumPacketSize = b.max_packet_bytes
            client.connect_async(b.host, b.port, keepalive=b.keepalive_s, clean_start=True, properties=props)
        else:
            client.connect_async(b.host, b.port, keepalive=b.keepalive_s)
        client.loop_start()
        try:
            await asyncio.Event().wait()
        finally:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    def _client(self) -> mqtt.Client:
        b = self.broker
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=b.client_id,
                             protocol=mqtt.MQTTv5 if b.protocol == "5" else mqtt.MQTTv311)
        client.reconnect_delay_set(min_delay=max(1, round(b.reconnect_min_s)),
                                   max_delay=max(1, round(b.reconnect_max_s)))
        if b.username:
            client.username_pw_set(b.username, b.password or None)
        if b.tls:
            client.tls_set(ca_certs=b.ca_file or None, cert_reqs=ssl.CERT_REQUIRED,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        return client

    # --- paho's thread ----------------------------------------------------------------------

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._call(self._on_state, False, str(reason))
            return
        for topic, qos in self.topics:
            client.subscribe(topic, qos=qos)
        self._call(self._on_state, True, "")

    def _connect_failed(self, client: mqtt.Client, userdata: Any) -> None:
        self._call(self._on_state, False, "connection failed")

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._call(self._on_state, False, "")

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # Approximate across the two threads, which is all a bound on memory needs.
        if self._backlog >= self._max_backlog:
            self.counters["dropped_backlog"] += 1
            return
        self._backlog += 1
        self._call(self._deliver, msg.topic, bytes(msg.payload), bool(msg.retain))

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(fn, *args)

    # --- the event loop ---------------------------------------------------------------------

    def _deliver(self, topic: str, payload: bytes, retained: bool) -> None:
        self._backlog -= 1
        self._on_message(topic, payload, retained)
