"""The community care platform, emulated: receives alerts and acknowledges them.

Modes exercise the hub's escalation: ``ack`` acknowledges at once, ``ignore``
never does, ``late`` acknowledges after a delay, ``level`` acknowledges only
once the alert has been escalated to a given level. Everything received is
kept (``alerts``, ``statuses``, ``health``) and can be printed as it arrives.
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
    ) -> None:
        if mode not in ("ack", "ignore", "late", "level"):
            raise ValueError(f"mode {mode!r}: one of ack, ignore, late, level")
        self.mode = mode
        self.delay_s = delay_s
        self.ack_level = ack_level
        self.base = base_topic.rstrip("/")
        self._print = printer
        self.alerts: list[dict[str, Any]] = []
        self.statuses: list[Received] = []
        self.health: list[dict[str, Any]] = []
        self.other: list[Received] = []
        self.acked: set[str] = set()
        self._cond = threading.Condition()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"platform-emulator-{id(self)}",
                                   protocol=mqtt.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._host, self._port = host, port
        self._connected = threading.Event()

    def start(self) -> PlatformEmulator:
        self._client.connect(self._host, self._port, keepalive=30)
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
        client.subscribe([(f"{self.base}/+/alert", 1), (f"{self.base}/+/status", 1),
                          (f"{self.base}/+/health", 0), (f"{self.base}/+/device/+/availability", 1),
                          (f"{self.base}/+/response/+", 1)])
        self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        rec = Received(msg.topic, bytes(msg.payload), bool(msg.retain))
        parts = msg.topic.split("/")
        kind = parts[-1]
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
        if alert.get("state") != "open" or alert["id"] in self.acked or self.mode == "ignore":
            return
        if self.mode == "level" and alert.get("level", 0) < self.ack_level:
            return
        delay = self.delay_s if self.mode == "late" else 0.0
        if delay > 0:
            threading.Timer(delay, self.ack, args=(topic, alert["id"])).start()
        else:
            self.ack(topic, alert["id"])

    def ack(self, alert_topic: str, alert_id: str, by: str = "platform-emulator") -> None:
        self.acked.add(alert_id)
        self._client.publish(f"{alert_topic}/{alert_id}/ack", json.dumps({"by": by}), qos=1)
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
