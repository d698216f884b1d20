"""What the platform sends the hub: acknowledgements and requests, filtered at the trust boundary.

Oversized messages are dropped before their payload is copied, retained requests are
never executed (a retained ``test_alarm`` would run on every connect), and each kind of
refusal is counted and logged at most once a minute, so a flood cannot flood the
journal (docs/mqtt.md, "Trust").
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import paho.mqtt.client as mqtt
import structlog

from gateway.mqtt_client import MAX_REQUEST_BYTES
from gateway.topics import Topics

log = structlog.get_logger("carehub.uplink")

MAX_ACK_BYTES = 4 * 1024
REFUSAL_LOG_S = 60.0

RequestHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class Inbound:
    def __init__(self, topics: Topics, counters: Counter[str], on_ack: Callable[[str, str | None], None],
                 on_request: RequestHandler | None, respond: Callable[[str, bytes], None]) -> None:
        self.topics = topics
        self.counters = counters
        self._on_ack = on_ack
        self._on_request = on_request
        self._respond = respond
        self._requests: set[asyncio.Task[None]] = set()
        self._refused_logged: dict[str, float] = {}
        self.last_ack_wall: float | None = None

    def received(self, msg: mqtt.MQTTMessage, call: Callable[..., None]) -> None:
        """From paho: checked here, before the payload is copied and ``call``-ed onto the loop."""
        if len(msg.payload) > MAX_REQUEST_BYTES:
            call(self._refused, "oversized_messages", msg.topic, len(msg.payload))
        elif msg.retain and self.topics.parse_ack(msg.topic) is None:
            # (A retained acknowledgement is harmless: acknowledging twice counts once.)
            call(self._refused, "retained_requests_ignored", msg.topic, len(msg.payload))
        else:
            call(self._message, msg.topic, bytes(msg.payload))

    def cancel(self) -> None:
        for task in list(self._requests):
            task.cancel()

    def _refused(self, counter: str, topic: str, size: int) -> None:
        self.counters[counter] += 1
        now = time.monotonic()
        if now - self._refused_logged.get(counter, -1e9) >= REFUSAL_LOG_S:
            self._refused_logged[counter] = now
            log.warning("uplink.message_refused", reason=counter, topic=topic[:200], bytes=size,
                        count=self.counters[counter])

    def _message(self, topic: str, payload: bytes) -> None:
        alert_id = self.topics.parse_ack(topic)
        if alert_id is not None:
            if len(payload) > MAX_ACK_BYTES:
                self._refused("oversized_messages", topic, len(payload))
                return
            by = None
            try:
                body = json.loads(payload) if payload else {}
                if isinstance(body, dict) and isinstance(body.get("by"), str):
                    by = body["by"][:100]
            except ValueError:
                self.counters["bad_ack_payload"] += 1
            self.counters["platform_acks"] += 1
            self.last_ack_wall = time.time()
            self._on_ack(alert_id, by)
            return
        command = self.topics.parse_request(topic)
        if command is not None and self._on_request is not None:
            task = asyncio.create_task(self._answer(command, payload))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
            return
        self.counters["unexpected_messages"] += 1

    async def _answer(self, command: str, payload: bytes) -> None:
        assert self._on_request is not None
        request_id = None
        try:
            body = json.loads(payload) if payload else {}
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
            request_id = body.get("request_id")
            result = await self._on_request(command, body)
            response = {"request_id": request_id, "ok": True, **result}
        except Exception as exc:  # a bad request is answered, never fatal
            self.counters["bad_requests"] += 1
            log.warning("uplink.request_failed", command=command[:64], error=str(exc))
            response = {"request_id": request_id, "ok": False, "error": str(exc)}
        self._respond(self.topics.response(command), json.dumps(response).encode())
