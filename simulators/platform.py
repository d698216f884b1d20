"""The community care platform, emulated: receives alerts and acknowledges them.

Modes exercise the hub's escalation: ``ack`` acknowledges at once, ``ignore``
never does, ``late`` acknowledges after a delay, ``level`` acknowledges only
once the alert has been escalated to a given level, ``every`` acknowledges
every open message (after ``delay_s``), repeats of an alert it already acknowledged too
(a platform that de-duplicates by id and answers each copy, as the fault tests
need when an acknowledgement was lost with a crashed broker). Everything
received is kept (``alerts``, ``statuses``, ``health``, and each
acknowledgement in ``acks``) and can be printed as it arrives. ``persistent``
keeps a broker session, so the broker queues alerts while it is away.
``share_group`` makes it one worker of a group that shares the subscriptions
(MQTT 5 ``$share/<group>/...``): the broker hands each message to one worker of
the group (docs/fleet.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.payload)


class PlatformEmulator:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        base_topic: str = "carehub/v1",
        mode: str = "ack",
        delay_s: float = 0.0,
        ack_level: int = 1,
        printer: Callable[[str], None] | None = None,
        persistent: bool = False,
        share_group: str | None = None,
        client_id: str | None = None,
    ) -> None:
        if mode not in ("ack", "ignore", "late", "level", "every"):
            raise ValueError(f"mode {mode!r}: one of ack, ignore, late, level, every")
        self.mode = mode
        self.delay_s = delay_s
        self.ack_level = ack_level
        self.base = base_topic.rstrip("/")
        self._print = printer
        self.alerts: list[dict[str, Any]] = []
        self.statuses: list[Received] = []
        self.health: list[dict[str, Any]] = []
        self.other: list[Received] = []
        self.requests: list[dict[str, Any]] = []  # call requests (a button asking for a service)
        self.acked: set[str] = set()
        self.acks: list[tuple[str, int, float]] = []  # (alert id, level acknowledged, monotonic time)
        self._cond = threading.Condition()
        self.persistent = persistent
        self.share = f"$share/{share_group}/" if share_group else ""
        client_id = client_id or ("platform-emulator" if persistent else f"platform-emulator-{id(self)}")
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._host, self._port = host, port
        self._connected = threading.Event()

    def start(self) -> PlatformEmulator:
        self._connected.clear()  # started again after stop(): wait for the new connection
        props = None
        if self.persistent:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
        self._client.connect(self._host, self._port, keepalive=30, clean_start=not self.persistent,
                             properties=props)
        self._client.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError("platform emulator could not connect to the broker")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> PlatformEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        base = f"{self.share}{self.base}"
        client.subscribe([(f"{base}/+/alert", 1), (f"{base}/+/status", 1),
                          (f"{base}/+/health", 0), (f"{base}/+/device/+/availability", 1),
                          (f"{base}/+/response/+", 1), (f"{base}/+/power", 1)])
        client.subscribe(f"{self.base}/+/call_request", 1)
        self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        rec = Received(msg.topic, bytes(msg.payload), bool(msg.retain))
        parts = msg.topic.split("/")
        kind = "response" if len(parts) > 1 and parts[-2] == "response" else parts[-1]
        with self._cond:
            if kind == "alert":
                alert = rec.json()
                alert["_topic"] = msg.topic
                alert["_received"] = rec.at
                self.alerts.append(alert)
                self._say(f"platform <- {alert['severity'].upper()} {alert['type']} id={alert['id'][:8]} "
                          f"seq={alert['seq']} state={alert['state']} level={alert['level']} "
                          f"room={alert.get('room')} historical={alert.get('historical')}")
                self._maybe_ack(msg.topic, alert)
            elif kind == "call_request":
                request = rec.json()
                request["_topic"] = msg.topic
                self.requests.append(request)
                self._say(f"platform <- REQUEST {request.get('service')} id={request['id'][:8]} "
                          f"seq={request['seq']} from={request.get('device')} room={request.get('room')} "
                          f"pattern={request.get('pattern')} requests={request.get('requests')}")
                if self.mode != "ignore" and (request["id"] not in self.acked or self.mode == "every"):
                    # Never escalated, so "level" has nothing to wait for: answered like "ack".
                    delay = self.delay_s if self.mode in ("late", "every") else 0.0
                    threading.Timer(delay, self.ack, args=(msg.topic, request["id"])).start()
            elif kind == "status":
                self.statuses.append(rec)
                self._say(f"platform <- hub status {rec.payload.decode(errors='replace')}"
                          f"{' (retained)' if rec.retain else ''}")
            elif kind == "health":
                self.health.append(rec.json())
            else:
                self.other.append(rec)
            self._cond.notify_all()

    def _maybe_ack(self, topic: str, alert: dict[str, Any]) -> None:
        if alert.get("state") != "open" or self.mode == "ignore":
            return
        if alert["id"] in self.acked and self.mode != "every":
            return
        if self.mode == "level" and alert.get("level", 0) < self.ack_level:
            return
        delay = self.delay_s if self.mode in ("late", "every") else 0.0
        if delay > 0:
            threading.Timer(delay, self.ack, args=(topic, alert["id"])).start()
        else:
            self.ack(topic, alert["id"])

    def ack(self, alert_topic: str, alert_id: str, by: str = "platform-emulator") -> None:
        self.acked.add(alert_id)
        self._client.publish(f"{alert_topic}/{alert_id}/ack", json.dumps({"by": by}), qos=1)
        level = max((a.get("level", 0) for a in self.alerts if a["id"] == alert_id), default=0)
        self.acks.append((alert_id, level, time.monotonic()))
        self._say(f"platform -> ack {alert_id[:8]}")

    def request(self, site: str, command: str, body: dict[str, Any]) -> None:
        self._client.publish(f"{self.base}/{site}/request/{command}", json.dumps(body), qos=1)

    def wait_for(self, predicate: Callable[[PlatformEmulator], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def alerts_of(self, type_: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        return [a for a in self.alerts if (type_ is None or a["type"] == type_)
                and (state is None or a["state"] == state)]

    def _say(self, text: str) -> None:
        if self._print is not None:
            self._print(text)
