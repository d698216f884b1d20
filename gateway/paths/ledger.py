"""The second path's durable memory: every SMS attempt and outcome, and each SMS acknowledgement.

One table in the hub's SQLite file (WAL, ``synchronous=FULL``, like the alerts), one
row per event: it is the alert's life log on the second path (what the page and the
platform are shown) and the record that keeps an SMS from being sent twice. An
``attempt`` row is committed *before* the modem is asked to send; a restart that
finds an attempt without an outcome cannot know whether the SMS left, so it records
``interrupted`` and never sends that (alert, level, number) again. An outcome row is
committed together with the alert message that tells the platform (one transaction).

If the card refuses a write, the ledger keeps going from memory (a help call must not
wait for a disk), logs that once a minute and counts it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import structlog

from gateway.paths.decisions import Outcome, SendKey, SendState
from gateway.store import Store

log = structlog.get_logger("carehub.second_path")

KEEP_DAYS = 90
HISTORY_MAX = 50  # entries per alert kept in memory and sent to the platform

_SCHEMA = """
CREATE TABLE IF NOT EXISTS second_path_sms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    level INTEGER NOT NULL,
    number TEXT NOT NULL,
    event TEXT NOT NULL,
    wall REAL NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS second_path_sms_alert ON second_path_sms(alert_id);
"""
SEND_EVENTS = ("attempt", *(o.value for o in Outcome))


class SmsLedger:
    def __init__(self, store: Store, wall: Callable[[], float] = time.time) -> None:
        self.store = store
        self._wall = wall
        self.states: dict[SendKey, SendState] = {}
        self.short_ids: dict[str, str] = {}  # alert id -> the short id its SMS carried
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.write_failures = 0
        self._failure_logged = -1e9
        self._load()

    @property
    def on_path(self) -> frozenset[str]:
        """Alerts that already had an SMS attempt, at any level."""
        return frozenset(k.alert_id for k in self.states)

    def _load(self) -> None:
        """Rebuild the send states; an attempt the previous run left without an outcome is interrupted."""
        try:
            with self.store.transaction() as db:
                for stmt in _SCHEMA.split(";"):  # not executescript: it would commit mid-transaction
                    if stmt.strip():
                        db.execute(stmt)
                # Never the record of an alert still active: a wall clock far ahead (a Pi with no RTC
                # and a bad guess) must not make an open alert's SMS look unsent.
                db.execute("DELETE FROM second_path_sms WHERE wall < ? AND alert_id NOT IN "
                           "(SELECT id FROM alerts WHERE state IN ('pending', 'open'))",
                           (self._wall() - KEEP_DAYS * 86400,))
                rows = db.execute("SELECT alert_id, level, number, event, wall, detail FROM second_path_sms "
                                  "ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        last: dict[SendKey, str] = {}
        for r in rows:
            detail = json.loads(r["detail"])
            self._remember(r["alert_id"], r["level"], r["number"], r["event"], r["wall"], detail)
            if r["event"] in SEND_EVENTS:
                last[SendKey(r["alert_id"], r["level"], r["number"])] = r["event"]
        for key, event in last.items():
            if event == "attempt":
                self.record(key.alert_id, key.level, key.number, Outcome.INTERRUPTED.value, {})
                log.warning("second_path.send_interrupted", id=key.alert_id, escalation_level=key.level, to=key.number)

    def record(self, alert_id: str, level: int, number: str, event: str, detail: dict[str, Any],
               also: Callable[[sqlite3.Connection], None] | None = None, retry_t: float = 0.0) -> bool:
        """One event, with ``also`` (the platform's message) in the same durable transaction.

        ``retry_t`` (monotonic, this boot only) is when a failed send may be tried again.
        False when the store refused it: the event is then kept in memory only.
        """
        wall = self._wall()
        self._remember(alert_id, level, number, event, wall, detail, retry_t)
        try:
            with self.store.transaction() as db:
                db.execute("INSERT INTO second_path_sms(alert_id, level, number, event, wall, detail) "
                           "VALUES (?,?,?,?,?,?)",
                           (alert_id, level, number, event, wall, json.dumps(detail, ensure_ascii=False)))
                if also is not None:
                    also(db)
            return True
        except sqlite3.Error as exc:
            self._failed(exc)
            return False

    def _remember(self, alert_id: str, level: int, number: str, event: str, wall: float,
                  detail: dict[str, Any], retry_t: float = 0.0) -> None:
        if "short_id" in detail:
            self.short_ids[alert_id] = str(detail["short_id"])
        history = self.histories.setdefault(alert_id, [])
        history.append({"wall": wall, "event": event, "level": level, "number": number, **detail})
        del history[:-HISTORY_MAX]
        if event not in SEND_EVENTS:
            return
        key = SendKey(alert_id, level, number)
        st = self.states.get(key, SendState())
        if event == "attempt":
            self.states[key] = SendState(st.attempts + 1, st.outcome, st.retry_t)
        elif not st.final:
            self.states[key] = SendState(st.attempts, Outcome(event), retry_t)

    def _failed(self, exc: sqlite3.Error) -> None:
        self.write_failures += 1
        now = time.monotonic()
        if now - self._failure_logged >= 60.0:
            self._failure_logged = now
            log.error("second_path.store_failed", error=str(exc), count=self.write_failures)
