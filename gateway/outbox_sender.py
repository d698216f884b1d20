"""The outbox's side of the uplink: rows handed to paho, PUBACKs that drop them.

An outbox row leaves the outbox only when the broker acknowledges it (PUBACK at
QoS 1); at most ``MAX_IN_FLIGHT`` rows are with paho at once, and a row the
broker refuses stays for the next connect. A mixin of ``Uplink`` (which owns the
client, the store and the loop), kept apart because it is one job: the durable
queue's hand-over to MQTT.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable

import paho.mqtt.client as mqtt
import structlog

from gateway.mqtt_client import MAX_IN_FLIGHT
from gateway.store import Store

log = structlog.get_logger("carehub.uplink")


class OutboxSender(ABC):
    # Provided by Uplink.
    store: Store
    counters: Counter[str]
    _finalize: Callable[[bytes], bytes]
    _wake: asyncio.Event
    _in_flight: dict[int, int]  # paho mid -> outbox msg_id
    _submitted_upto: int
    _submitted: set[int]
    _store_failure_logged: float

    @abstractmethod
    def _publish(self, topic: str, payload: bytes, *, qos: int,
                 retain: bool) -> tuple[mqtt.MQTTMessageInfo, int]:
        """paho's publish with the message expiry (Uplink)."""

    @abstractmethod
    def _flush(self) -> None:
        """Write what paho queued (Uplink, through its loop driver)."""

    def _submit_outbox(self) -> None:
        try:
            self._submit_rows()
        finally:
            self._flush()

    def _submit_rows(self) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        while room > 0:
            rows = self.store.outbox(after=self._submitted_upto, limit=room)
            if not rows:
                return
            for row in rows:
                self._submitted_upto = row.msg_id
                if row.msg_id in self._submitted:
                    continue  # still in flight after a refused neighbour was retried
                payload = self._finalize(row.payload)
                info, _ = self._publish(row.topic, payload, qos=row.qos, retain=row.retain)
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    # The row stays in the outbox; it will be tried again on the next connect.
                    self.counters["publish_refused"] += 1
                    log.error("uplink.publish_refused", msg_id=row.msg_id, rc=int(info.rc))
                    self._submitted_upto = row.msg_id - 1
                    return
                self._in_flight[info.mid] = row.msg_id
                self._submitted.add(row.msg_id)
                self.counters["submitted"] += 1
                room -= 1

    def _puback(self, mid: int) -> None:
        msg_id = self._in_flight.pop(mid, None)
        if msg_id is None:
            return
        self._submitted.discard(msg_id)
        self.counters["acknowledged_by_broker"] += 1
        try:
            alert_id = self.store.outbox_published(msg_id, time.time())  # one commit, not two
        except sqlite3.Error as exc:
            # A card that refuses writes: the broker has the message; the row stays and goes
            # again after the next connect (the platform de-duplicates). One line a minute.
            self.counters["outbox_update_failed"] += 1
            now = time.monotonic()
            if now - self._store_failure_logged >= 60.0:
                self._store_failure_logged = now
                log.error("uplink.outbox_update_failed", msg_id=msg_id, error=str(exc),
                          count=self.counters["outbox_update_failed"])
            return
        if alert_id:
            log.info("alert.published", id=alert_id, msg_id=msg_id)
        if len(self._in_flight) < MAX_IN_FLIGHT // 2:
            self._wake.set()

    def _publish_failed(self, mid: int, reason: str) -> None:
        # MQTT 5 PUBACK with an error code: the broker refused the message. Keep the
        # row and retry it on the next connect rather than dropping an alert.
        msg_id = self._in_flight.pop(mid, None)
        self.counters["publish_failed"] += 1
        log.error("uplink.publish_failed", msg_id=msg_id, reason=reason)
        if msg_id is not None:
            self._submitted.discard(msg_id)
            self._submitted_upto = min(self._submitted_upto, msg_id - 1)

