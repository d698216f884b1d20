"""MQTT to the care platform (paho-mqtt 2.x), publishing from the durable outbox.

paho is driven from the asyncio event loop (``gateway/mqtt_loop.py``), so a
PUBLISH is written to the socket in the same turn as the commit that queued it;
its callbacks are handed on with ``call_soon_threadsafe`` (only the connect runs
in a worker thread), so all state lives on the loop's thread. An outbox row
leaves the outbox only when the broker acknowledges it (PUBACK at QoS 1);
rows are handed to paho only while connected, so the ``historical`` flag is
decided when a message really leaves, and paho itself resends what was in
flight when a connection drops. A restart republishes whatever is left.

The session is persistent (a stable client id; MQTT 5 ``clean_start=False`` with a
session expiry, 3.1.1 ``clean_session=False``), so an acknowledgement the platform
sends while the hub is restarting or reconnecting is queued by the broker and
delivered when it is back. Requests are never taken from retained messages (a
retained ``test_alarm`` would run again on every connect), and on MQTT 5 the hub
announces a Maximum Packet Size so that the broker drops anything larger instead
of sending it (docs/mqtt.md, "Trust").

Fleet behaviour (docs/fleet.md): after a boot the first connection waits a delay
taken from the site id (``gateway/boot_spread.py``) unless an emergency or urgent
alert is waiting, and telemetry carries an MQTT 5 message expiry
(``gateway/message_expiry.py``); alerts never do.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.boot_spread import BootGate, boot_delay_s
from gateway.config.schema import PlatformConfig
from gateway.first_connect import system_uptime_s, urgent_waiting, wait_for_turn
from gateway.inbound import Inbound, RequestHandler
from gateway.message_expiry import RetainedRefresh, expiry_s
from gateway.mqtt_client import UplinkSettingsError, connect_properties, make_client
from gateway.mqtt_loop import LoopDriver
from gateway.outbox_sender import OutboxSender
from gateway.store import Store
from gateway.topics import Topics

log = structlog.get_logger("carehub.uplink")

SETTINGS_RETRY_S = 30.0  # unusable TLS files: how often to look again (they may be uploaded)

class Uplink(OutboxSender):
    def __init__(
        self,
        cfg: PlatformConfig,
        topics: Topics,
        store: Store,
        *,
        client_id: str,
        finalize: Callable[[bytes], bytes],
        on_ack: Callable[[str, str | None], None],
        on_request: RequestHandler | None = None,
        on_connect: Callable[[], None] | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        standby: bool = False,
        uptime: Callable[[], float] = system_uptime_s,
        backoff_jitter: bool = True,
    ) -> None:
        self.cfg = cfg
        self.topics = topics
        self.store = store
        self._finalize = finalize
        self._on_connect_cb = on_connect
        self._health = health
        # A standby uplink (new broker settings on trial) only connects; it subscribes,
        # says "online" and drains the outbox once ``activate`` makes it the hub's uplink.
        self.standby = standby
        self._uptime = uptime
        self._backoff_jitter = backoff_jitter  # off only in the fleet simulation's comparison run
        self._boot_gate: BootGate | None = None
        self._refresh = RetainedRefresh()
        self._connected_once = asyncio.Event()
        self._client_id = client_id
        self._driver: LoopDriver | None = None
        self._store_failure_logged = -1e9
        # Settings that cannot be used (a TLS file missing or unreadable) must not stop the
        # hub: it keeps detecting and storing alerts, says what is wrong, and tries again.
        self.problem: str | None = None
        try:
            self._client = self._new_client(cfg)
        except UplinkSettingsError as exc:
            self.problem = str(exc)
            # Only a holder for the same calls; never connected (it has no TLS).
            self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._in_flight: dict[int, int] = {}  # paho mid -> outbox msg_id
        self._submitted_upto = 0
        self._submitted: set[int] = set()
        self.connected = False
        self.last_connect_wall: float | None = None
        self.counters: Counter[str] = Counter()
        self._inbound = Inbound(topics, self.counters, on_ack, on_request,
                                respond=lambda topic, body: self.publish_state(topic, body, retain=False, qos=1))

    def _new_client(self, cfg: PlatformConfig) -> mqtt.Client:
        client = make_client(cfg, self._client_id, persistent=True)
        client.will_set(self.topics.status, b"offline", qos=1, retain=True)
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_publish = self._cb_publish
        client.on_message = self._cb_message
        return client

    @property
    def broker(self) -> str:
        return f"{'mqtts' if self.cfg.tls else 'mqtt'}://{self.cfg.host}:{self.cfg.port}"

    def wake(self) -> None:
        """Something was added to the outbox: hand it to paho now if connected.

        Called on the loop's thread right after the policy's commit, so an
        emergency does not wait for another turn of the event loop.
        """
        if self.connected and not self.standby:
            self._submit_outbox()
        else:
            self._wake.set()

    async def wait_connected(self, timeout_s: float) -> bool:
        """True once the broker accepted a connection with these settings, False after ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._connected_once.wait()
        except TimeoutError:
            return False
        return True

    def activate(self) -> None:
        """Make a standby uplink the live one: subscribe, say online, drain the outbox."""
        if not self.standby:
            return
        self.standby = False
        if self.connected:
            self._go_live(subscribe=True)

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "broker": self.broker,
            "last_ack_wall": self._inbound.last_ack_wall,
            "last_connect_wall": self.last_connect_wall,
            "outbox_depth": self.store.outbox_depth(),
            "in_flight": len(self._in_flight),
            "problem": self.problem,
            "boot_spread_remaining_s": round(self._boot_gate.remaining_s(time.monotonic()), 1)
            if self._boot_gate is not None else 0.0,
            "counters": dict(self.counters),
        }

    def publish_state(self, topic: str, payload: bytes, *, retain: bool = True, qos: int = 1) -> None:
        """Publish a state message (retained availability, health, responses) outside the outbox.

        State is republished whenever it changes and on every connect, so losing
        one while offline loses nothing: it is simply not sent when not connected.
        """
        if self.connected and not self.standby:
            _, expiry = self._publish(topic, payload, qos=qos, retain=retain)
            if retain:
                self._refresh.sent(topic, payload, expiry, time.monotonic())
            self._flush()

    def _publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> tuple[mqtt.MQTTMessageInfo, int]:
        """paho's publish, with the message expiry that this kind of message carries (0: none)."""
        expiry = expiry_s(self.cfg, self.topics, topic, payload)
        props = None
        if expiry > 0:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.MessageExpiryInterval = expiry
            self.counters["published_with_expiry"] += 1
        return self._client.publish(topic, payload, qos=qos, retain=retain, properties=props), expiry

    def publish_from_memory(self, topic: str, payload: bytes) -> None:
        """Last resort when the outbox cannot be written (storage failure).

        paho keeps a QoS 1 message in memory, connected or not, and resends it
        until the broker acknowledges it; it is lost only if the hub also restarts.
        """
        self._client.publish(topic, self._finalize(payload), qos=1)
        self._flush()
        self.counters["published_from_memory"] += 1
        self._wake.set()  # it must not wait for the boot spread either

    # --- lifecycle ------------------------------------------------------------

    async def _settings_usable(self) -> None:
        while self.problem is not None:
            self.counters["settings_unusable"] += 1
            log.critical("uplink.settings_unusable", broker=self.broker, error=self.problem,
                         retry_in_s=SETTINGS_RETRY_S)
            await asyncio.sleep(SETTINGS_RETRY_S)
            try:
                self._client = self._new_client(self.cfg)
                self.problem = None
            except UplinkSettingsError as exc:
                self.problem = str(exc)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._settings_usable()
        await self._boot_spread()
        # Only records where and how to connect: the driver connects, on this loop.
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s,
                                   clean_start=False if self.cfg.protocol == "5" else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                                   properties=connect_properties(self.cfg))
        self._driver = LoopDriver(self._client, min_delay_s=self.cfg.reconnect_min_s,
                                  max_delay_s=self.cfg.reconnect_max_s, describe=lambda: self.broker,
                                  jitter=self._backoff_jitter)
        log.info("uplink.starting", broker=self.broker, protocol=self.cfg.protocol)
        health = asyncio.create_task(self._health_loop())
        refresh = asyncio.create_task(self._refresh_loop())
        network = asyncio.create_task(self._driver.run())
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self.connected and not self.standby:
                    self._submit_outbox()
        finally:
            health.cancel()
            refresh.cancel()
            network.cancel()
            self._inbound.cancel()

    def cut_power(self) -> None:
        """Lose the connection as a power cut does, without a goodbye: the broker publishes the last
        will. For the fleet simulation (gateway/fleet.py), where hubs share one process."""
        if self._driver is not None:
            self._driver.cut_power()
        self.connected = False

    async def stop(self) -> None:
        """Say goodbye properly: a clean disconnect does not fire the last will,
        so publish ``offline`` first."""
        if self._driver is not None:
            self._driver.stop()
        if self.connected:
            info = self._client.publish(self.topics.status, b"offline", qos=1, retain=True)
            self._flush()
            for _ in range(20):
                if info.is_published():
                    break
                await asyncio.sleep(0.05)
        self._client.disconnect()

    # --- outbox (gateway/outbox_sender.py) and publishing ---------------------

    def _flush(self) -> None:
        if self._driver is not None:
            self._driver.flush()

    # --- paho callbacks (paho's thread) -> loop -------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _cb_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode,
                    properties: Properties | None) -> None:
        # Subscribed here, inside paho's handling of the CONNACK and before paho re-sends the
        # messages that were in flight: a broker that lost the hub's session would otherwise
        # drop the platform's acknowledgements of those re-sent alerts (fault test F1).
        if not rc.is_failure and not self.standby:
            self._subscribe()
        self._call(self._connected, rc)

    def _subscribe(self) -> None:
        # Subscribed again on every connect (a broker may have expired the session). Retained
        # messages are never asked for: a request is an order for now, not a state.
        if self.cfg.protocol == "5":
            opts = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
            self._client.subscribe([(self.topics.alert_ack_filter, opts), (self.topics.call_request_ack_filter, opts),
                                    (self.topics.request_filter, opts)])
        else:
            self._client.subscribe([(self.topics.alert_ack_filter, 1), (self.topics.call_request_ack_filter, 1),
                                    (self.topics.request_filter, 1)])

    def _cb_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode,
                       properties: Properties | None) -> None:
        self._call(self._disconnected, rc)

    def _cb_publish(self, client: mqtt.Client, userdata: Any, mid: int, rc: ReasonCode,
                    properties: Properties | None) -> None:
        if rc.is_failure:
            self._call(self._publish_failed, mid, str(rc))
        else:
            self._call(self._puback, mid)

    def _cb_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbound.received(msg, self._call)

    # --- on the loop ----------------------------------------------------------

    def _connected(self, rc: ReasonCode) -> None:
        if rc.is_failure:
            self.counters["connect_refused"] += 1
            log.error("uplink.connect_refused", broker=self.broker, reason=str(rc))
            return
        self.connected = True
        self.last_connect_wall = time.time()
        self.counters["connects"] += 1
        self._connected_once.set()
        if self._driver is not None:
            self._driver.accepted()
        if self.standby:
            log.info("uplink.standby_connected", broker=self.broker)
            return
        self._go_live()

    def _go_live(self, *, subscribe: bool = False) -> None:
        log.info("uplink.connected", broker=self.broker, outbox_depth=self.store.outbox_depth())
        if subscribe:  # a standby made live: it connected without subscribing
            self._subscribe()
        # "online" after the subscription: the broker handles a client's packets in order, so a
        # platform that sees "online" knows its requests and acknowledgements will be heard.
        self._client.publish(self.topics.status, b"online", qos=1, retain=True)
        self._flush()
        if self._on_connect_cb is not None:
            self._on_connect_cb()
        self._wake.set()

    def _disconnected(self, rc: ReasonCode) -> None:
        was = self.connected
        self.connected = False
        if was:
            self.counters["disconnects"] += 1
            log.warning("uplink.disconnected", broker=self.broker, reason=str(rc),
                        in_flight=len(self._in_flight))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.health_interval_s)
            if self._health is not None and self.connected:
                body = self._health()
                self.publish_state(self.topics.health, json.dumps(body).encode(), retain=False, qos=0)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh.next_due_in(time.monotonic(), default=3600.0))
            if self.connected and not self.standby:
                for topic, payload in self._refresh.due(time.monotonic()):
                    self.publish_state(topic, payload)

    async def _boot_spread(self) -> None:
        """After a boot, the first connection waits its turn (gateway/boot_spread.py)."""
        if self.standby or self._boot_gate is not None:  # new settings on trial, or run() again: no wait
            return
        site = self.topics.root.rsplit("/", 1)[-1]
        self._boot_gate = BootGate(boot_delay_s(site, self.cfg.boot_spread_s, self._uptime()), time.monotonic())
        await wait_for_turn(self._boot_gate, self._wake, self.counters, self.cfg.boot_spread_s,
                            lambda: urgent_waiting(self.store, bool(self.counters["published_from_memory"])))
