"""The one place the alert rules' effects touch the world.

Every write of one decision (new alert rows, updates, outbox messages) is one
durable SQLite transaction: an alert and its message are stored together or not
at all. If the card refuses the transaction (full, failing, read-only), the
messages are handed to the uplink from memory instead, numbered from the
store's in-memory counter so that no sequence number is ever used twice: a help
call is never dropped for want of a disk. Then, in this order: the uplink is
woken (the PUBLISH goes out before time is spent on logs), the log lines are
written, the listeners are told.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import structlog

from gateway.alerts.effects import WRITES, Effect, Enqueue, Log, Notify, StoreAlert, UpdateAlert, WakeUplink
from gateway.alerts.payload import alert_message, request_message
from gateway.alerts.requests import REQUEST_TYPE
from gateway.store import AlertRow, Store
from gateway.topics import Topics

log = structlog.get_logger("carehub.alerts")


class EffectApplier:
    def __init__(
        self,
        store: Store,
        site: str,
        topics: Topics,
        wake_uplink: Callable[[], None],
        on_change: Callable[[dict[str, Any]], None] | None = None,
        fallback_publish: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.store = store
        self.site = site
        self.topics = topics
        self._wake = wake_uplink
        self._on_change = on_change
        self._fallback = fallback_publish
        self.storage_failures = 0  # alerts whose change the store refused (each sent from memory)

    def apply(self, effects: Sequence[Effect]) -> dict[str, int]:
        """Carry out ``effects``; returns the sequence numbers given to new alerts, by id."""
        numbered: dict[str, int] = {}
        writes = [e for e in effects if isinstance(e, WRITES)]
        stored = not writes or self._write(writes, numbered)
        if any(isinstance(e, WakeUplink) for e in effects):
            self._wake()  # hand it to the uplink before spending time on logs
        for e in effects:
            if isinstance(e, StoreAlert) and stored:
                row = e.row
                log.info("alert.stored", id=row.id, seq=numbered[row.id], type=row.type, severity=row.severity,
                         state=row.state, device=row.device, room=row.room,
                         room_inferred="room_inferred" in row.evidence)
            elif isinstance(e, Log):
                getattr(log, e.level)(e.event, **e.fields)
        if self._on_change is not None:
            for e in effects:
                if isinstance(e, Notify):
                    self._on_change({"alert_id": e.alert_id, "state": e.state, "text": e.text})
        return numbered

    def _write(self, writes: list[StoreAlert | UpdateAlert | Enqueue], numbered: dict[str, int]) -> bool:
        try:
            with self.store.transaction():
                for e in writes:
                    if isinstance(e, StoreAlert):
                        numbered[e.row.id] = self.store.next_seq()
                        self.store.insert_alert(replace(e.row, seq=numbered[e.row.id]))
                    elif isinstance(e, UpdateAlert):
                        self.store.update_alert(e.row.id, **e.fields)
                    else:
                        self.store.enqueue(self._topic(e.row), self._message(e, numbered), qos=1, alert_id=e.row.id)
            return True
        except sqlite3.Error as exc:
            self._from_memory(writes, numbered, exc)
            return False

    def _from_memory(self, writes: list[StoreAlert | UpdateAlert | Enqueue], numbered: dict[str, int],
                     exc: sqlite3.Error) -> None:
        """The store refused: number what it did not, send the messages from memory, log each alert once."""
        touched: dict[str, AlertRow] = {}
        for e in writes:
            if isinstance(e, StoreAlert) and e.row.id not in numbered:
                numbered[e.row.id] = self.store.claim_seq()  # never reuse a number
            touched.setdefault(e.row.id, e.row)
        if self._fallback is not None:
            for e in writes:
                if isinstance(e, Enqueue):
                    self._fallback(self._topic(e.row), self._message(e, numbered))
        for row in touched.values():
            self.storage_failures += 1
            log.critical("alert.storage_failed", id=row.id, type=row.type, error=str(exc))
        self.store.note_claimed()

    def _topic(self, row: AlertRow) -> str:
        return self.topics.call_request if row.type == REQUEST_TYPE else self.topics.alert

    def _message(self, e: Enqueue, numbered: dict[str, int]) -> bytes:
        row = e.row
        if row.id in numbered and row.seq != numbered[row.id]:
            row = replace(row, seq=numbered[row.id])
        if row.type == REQUEST_TYPE:  # its own topic and payload: a request is not an alert
            return request_message(row, self.site, enqueued_mono=time.monotonic(), note=e.note)
        extra: dict[str, Any] = {}
        if e.severity:
            extra["severity"] = e.severity
        if e.note:
            extra["note"] = e.note
        return alert_message(row, self.site, state=e.state, level=e.level, enqueued_mono=time.monotonic(),
                             extra=extra)
