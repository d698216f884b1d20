"""From findings to alerts: the rules that decide what the platform hears and when.

The rules (docs/alerts.md says the same for people):

* **Stored first.** Every alert is written to SQLite, with its outbound message
  in the same durable transaction, before anything else happens. The uplink
  publishes from that outbox.
* **Help calls at once.** A help finding is raised with no cancel window.
* **Repeated presses.** While a button's help alert is open, presses within
  ``help_repeat_window_s`` of the previous press are counted into it
  (``evidence.presses``) and publish nothing. A press after that window, while
  the alert is still unacknowledged, re-sends it at once at the next escalation
  level: the person is still calling. After the platform acknowledges, the
  next press is a new alert.
* **Cancel windows.** A finding with ``cancel_window_s`` (a fall) is stored as
  *pending*. If the wearer cancels it in time with their own button it is
  reported once as a low-priority ``cancelled`` message, never as an emergency.
  Otherwise it is raised when the window ends. A fall the detector sees them
  recover from (get up and walk) is still a fall: it stays pending and is raised
  as ``urgent`` with ``evidence.recovered: true`` (the platform calls the same
  day), escalated like any urgent alert; only the button cancels it. A pending
  alert found at start-up (the hub restarted during the window) is raised at
  once: a missed fall is worse than a false alarm.
* **Escalation.** Emergency and urgent alerts stay open until the platform
  acknowledges them. Without an acknowledgement within ``ack_timeout_s`` the
  alert is re-sent at the next level, up to ``max_escalation_level``, and then
  keeps being re-sent at that level. Each step is logged. The countdown runs on
  the wall clock of the last send (``last_sent_wall``) across restarts, so a hub
  that restarts, even in a loop, still escalates; an age it cannot trust (the
  clock went back) counts as overdue.
* **Re-sent on every connect.** Each open, unacknowledged alert is queued again at
  its current level whenever the uplink connects (and so at start), unless a
  message for it is still waiting: a broker that accepted an alert and lost it, or
  an acknowledgement lost while the hub was away, costs one round trip, not an
  escalation. The platform de-duplicates by id and acknowledges again.
* **One alert per condition.** A finding whose key already has an open alert is
  dropped; a CLEARED finding closes the alert and tells the platform.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog

from detection.events import Finding, FindingState, Severity
from gateway.alerts.payload import alert_message
from gateway.clock import HubClock
from gateway.config.schema import AlertConfig
from gateway.store import OPEN_STATES, AlertRow, Store
from gateway.topics import Topics

log = structlog.get_logger("carehub.alerts")

ESCALATING = {Severity.EMERGENCY.value, Severity.URGENT.value}


@dataclass
class _Live:
    """What the policy needs about an alert this boot, without a database read per tick."""

    row: AlertRow
    last_sent_t: float | None = None
    hold_until_t: float | None = None
    held_since_t: float | None = None
    last_press_t: float | None = None


class AlertPolicy:
    def __init__(
        self,
        store: Store,
        cfg: AlertConfig,
        site: str,
        topics: Topics,
        clock: HubClock,
        wake_uplink: Callable[[], None],
        on_change: Callable[[dict[str, Any]], None] | None = None,
        fallback_publish: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.site = site
        self.topics = topics
        self.clock = clock
        self._wake = wake_uplink
        self._fallback = fallback_publish
        self.storage_failures = 0
        self._on_change = on_change
        self._live: dict[str, _Live] = {}
        self._by_key: dict[str, str] = {}

    # --- start-up -------------------------------------------------------------

    def resume(self) -> None:
        """Pick up alerts left open by the previous run."""
        now = self.clock.now().t
        now_wall = time.time()
        for row in reversed(self.store.alerts(OPEN_STATES, limit=10_000)):
            live = _Live(row, last_sent_t=now - self._sent_ago(row, now_wall))
            self._live[row.id] = live
            self._by_key[row.finding_key] = row.id
            if row.state == "pending":
                log.warning("alert.pending_at_start", id=row.id, type=row.type)
                self._raise_pending(live, now)
            else:
                log.info("alert.resumed", id=row.id, type=row.type, escalation_level=row.level)

    def _sent_ago(self, row: AlertRow, now_wall: float) -> float:
        """How long ago ``row`` was last sent, for the escalation countdown after a restart."""
        if row.last_sent_wall is None:
            return self.cfg.ack_timeout_s  # stored by a hub that did not record it: overdue
        ago = now_wall - row.last_sent_wall
        # A clock that went back (no RTC, NTP not yet synced) gives an age we cannot
        # trust: escalating early is the safe side of that doubt.
        return ago if ago >= 0 else self.cfg.ack_timeout_s

    def resend_open(self) -> int:
        """Queue every open, unacknowledged alert again at its current level (on each connect).

        Skips alerts that still have a message waiting in the outbox. Does not move the
        escalation countdown: a resend is the same message again, not a new level.
        """
        try:
            waiting = self.store.outbox_alert_ids()
        except sqlite3.Error:
            waiting = set()
        sent = 0
        for live in sorted(self._live.values(), key=lambda lv: lv.row.seq):
            row = live.row
            if row.state != "open" or row.id in waiting:
                continue
            self._resend(row)
            sent += 1
        if sent:
            log.info("alert.resent_on_connect", alerts=sent)
            self._wake()
        return sent

    def _resend(self, row: AlertRow) -> None:
        self._persist(lambda: None, lambda: row, {"state": "open", "level": row.level, "note": "re-sent on connect"})

    # --- inputs ---------------------------------------------------------------

    def on_finding(self, f: Finding) -> None:
        if f.state is FindingState.RAISED:
            self._on_raised(f)
        elif f.state is FindingState.CANCELLED:
            self._on_cancelled(f)
        else:
            self._on_cleared(f)

    def on_platform_ack(self, alert_id: str, by: str | None = None) -> bool:
        row = self.store.get_alert(alert_id)
        if row is None:
            log.warning("alert.ack_unknown", id=alert_id)
            return False
        if row.acked_wall is not None:
            return True  # the platform may acknowledge twice; once counts
        now_wall = time.time()
        state = "acked" if row.state in OPEN_STATES else row.state
        self._persist(lambda: self.store.update_alert(alert_id, state=state, acked_wall=now_wall, acked_by=by),
                      lambda: row, None)
        live = self._live.pop(alert_id, None)
        if live is not None and self._by_key.get(live.row.finding_key) == alert_id:
            del self._by_key[live.row.finding_key]
        log.info("alert.acked", id=alert_id, by=by, escalation_level=row.level)
        self._changed(alert_id, state, "acknowledged by the platform")
        return True

    def tick(self) -> None:
        """Advance timers: end cancel windows, escalate unacknowledged alerts."""
        now = self.clock.now().t
        for live in list(self._live.values()):
            row = live.row
            if row.state == "pending":
                if live.hold_until_t is not None and now >= live.hold_until_t:
                    self._raise_pending(live, now)
            elif (
                row.state == "open"
                and (row.severity in ESCALATING or row.test)
                and live.last_sent_t is not None
                and now - live.last_sent_t >= self.cfg.ack_timeout_s
            ):
                if row.test:
                    live.last_sent_t = now  # test alarms wait for their ack but never escalate
                    continue
                self._escalate(live, now, reason="no acknowledgement")

    def raise_test(self, actor: str) -> str:
        """A test alarm through the real path: stored, published, acknowledged."""
        at = self.clock.now()
        f = Finding(type="test", severity=Severity.INFO, at=at, key=f"test:{uuid.uuid4().hex}",
                    evidence={"requested_by": actor})
        return self._open(f, test=True)

    # --- rules ----------------------------------------------------------------

    def _on_raised(self, f: Finding) -> None:
        if f.type == "help_call" and f.device:
            pending_fall = self._pending(f"fall:{f.device}")
            if pending_fall is not None:
                self._cancel(pending_fall, reason="button", at_t=f.at.t)
                return
        existing_id = self._by_key.get(f.key)
        if existing_id is not None:
            live = self._live[existing_id]
            if f.type == "help_call":
                self._repeat_press(live, f)
            else:
                log.debug("alert.duplicate_finding", id=existing_id, key=f.key)
            return
        self._open(f)

    def _repeat_press(self, live: _Live, f: Finding) -> None:
        row = live.row
        presses = int(row.evidence.get("presses", 1)) + 1
        evidence = {**row.evidence, "presses": presses}
        live.row = row = replace(row, evidence=evidence)
        within = live.last_press_t is not None and f.at.t - live.last_press_t <= self.cfg.help_repeat_window_s
        live.last_press_t = f.at.t
        if within or row.state != "open":
            self._persist(lambda: self.store.update_alert(row.id, evidence=evidence), lambda: row, None)
            log.info("alert.press_folded", id=row.id, presses=presses)
            return
        self._escalate(live, f.at.t, reason="pressed again")

    def _on_cancelled(self, f: Finding) -> None:
        reason = str(f.evidence.get("reason", "cancelled"))
        if reason == "recovery":
            self._recovered(f)
            return
        pending = self._pending(f.key)
        if pending is not None:
            self._cancel(pending, reason=reason, at_t=f.at.t)
            return
        alert_id = self._by_key.get(f.key)
        if alert_id is None:
            return
        # Already raised: the platform was told; tell it the wearer says they are
        # fine, but leave closing the alert to a person at the platform.
        live = self._live[alert_id]
        evidence = {**live.row.evidence, "cancelled_after_raise": reason}
        live.row = replace(live.row, evidence=evidence)
        self._send(live, state="open", note=f"wearer cancelled after raise ({reason})")

    def _recovered(self, f: Finding) -> None:
        """The detector saw the wearer get up after a fall: urgent, not cancelled.

        A fall is the strongest predictor of the next one and people who get up can
        still be hurt, so a recovery never closes the alert; it only lowers a pending
        fall from emergency to urgent. The cancel window keeps running, so the
        wearer's own button can still cancel it.
        """
        alert_id = self._by_key.get(f.key)
        if alert_id is None:
            return  # already cancelled by the button or acknowledged: nothing to change
        live = self._live[alert_id]
        recovery = {k: v for k, v in f.evidence.items() if k != "reason"}
        if live.held_since_t is not None:
            recovery["after_s"] = round(f.at.t - live.held_since_t, 1)
        evidence = {**live.row.evidence, "recovered": True, "recovery": recovery}
        if live.row.state == "pending":
            live.row = replace(live.row, severity=Severity.URGENT.value, evidence=evidence)
            self._persist(lambda: self.store.update_alert(live.row.id, severity=live.row.severity, evidence=evidence),
                          lambda: live.row, None)
            log.info("alert.fall_recovered", id=live.row.id)
            self._changed(live.row.id, "pending", "wearer got up: urgent fall")
            return
        # Already raised as an emergency: tell the platform; a person there decides.
        live.row = replace(live.row, evidence=evidence)
        self._send(live, state="open", note="wearer got up after the fall was raised")

    def _on_cleared(self, f: Finding) -> None:
        alert_id = self._by_key.get(f.key)
        if alert_id is None:
            return
        live = self._live[alert_id]
        if live.row.state == "pending":
            self._cancel(live, reason=str(f.evidence.get("reason", "cleared")), at_t=f.at.t)
            return
        self._close(live, "cleared", reason=str(f.evidence.get("reason", "condition ended")))

    # --- transitions ----------------------------------------------------------

    def _open(self, f: Finding, *, test: bool = False) -> str:
        hold = f.cancel_window_s > 0
        row = AlertRow(
            id=str(uuid.uuid4()),
            seq=0,  # the store's number, or one claimed from memory if the store fails
            type=f.type,
            severity=f.severity.value,
            state="pending" if hold else "open",
            finding_key=f.key,
            device=f.device,
            room=f.room,
            level=0,
            test=test,
            boot_id=self.clock.boot_id,
            detected_wall=self.clock.utc_of(f.at),
            raised_wall=time.time(),
            clock_synced=bool(f.at.synced and self.clock.synced),
            evidence=dict(f.evidence),
            first_published_wall=None,
            acked_wall=None,
            acked_by=None,
            closed_reason=None,
            last_sent_wall=None if hold else time.time(),
        )
        if not hold and row.severity not in ESCALATING and not test and row.severity != "technical":
            row = replace(row, state="closed", closed_reason="notice")

        def write() -> None:
            nonlocal row
            row = replace(row, seq=self.store.next_seq())
            self.store.insert_alert(row)

        def current() -> AlertRow:
            nonlocal row
            if row.seq == 0:  # the store failed before numbering it: never reuse a number
                row = replace(row, seq=self.store.claim_seq())
            return row

        stored = self._persist(write, current, None if hold else {"state": "open", "level": 0})
        current()
        if not hold:
            self._wake()  # hand it to the uplink before spending time on logs
        if stored:
            log.info("alert.stored", id=row.id, seq=row.seq, type=row.type, severity=row.severity,
                     state=row.state, device=row.device, room=row.room)
        if row.state in OPEN_STATES:
            live = _Live(row, last_press_t=f.at.t if f.type == "help_call" else None)
            if hold:
                live.hold_until_t = f.at.t + f.cancel_window_s
                live.held_since_t = f.at.t
                log.info("alert.cancel_window", id=row.id, seconds=f.cancel_window_s)
            else:
                live.last_sent_t = self.clock.now().t
            self._live[row.id] = live
            self._by_key[row.finding_key] = row.id
        self._changed(row.id, row.state, f"{row.severity} {row.type}")
        return row.id

    def _raise_pending(self, live: _Live, now: float) -> None:
        live.row = replace(live.row, state="open", raised_wall=time.time(), last_sent_wall=time.time())
        self._persist(lambda: self.store.update_alert(live.row.id, state="open", raised_wall=live.row.raised_wall,
                                                      last_sent_wall=live.row.last_sent_wall),
                      lambda: live.row, {"state": "open", "level": live.row.level})
        live.hold_until_t = None
        live.last_sent_t = now
        log.info("alert.raised_after_window", id=live.row.id, type=live.row.type)
        self._changed(live.row.id, "open", "cancel window ended")
        self._wake()

    def _escalate(self, live: _Live, now: float, *, reason: str) -> None:
        level = min(live.row.level + 1, self.cfg.max_escalation_level)
        live.row = replace(live.row, level=level, last_sent_wall=time.time())
        self._persist(lambda: self.store.update_alert(live.row.id, level=level, evidence=live.row.evidence,
                                                      last_sent_wall=live.row.last_sent_wall),
                      lambda: live.row, {"state": "open", "level": level})
        live.last_sent_t = now
        log.warning("alert.escalated", id=live.row.id, escalation_level=level, reason=reason)
        self._changed(live.row.id, "open", f"escalated to level {level}: {reason}")
        self._wake()

    def _cancel(self, live: _Live, *, reason: str, at_t: float) -> None:
        evidence = {**live.row.evidence, "cancel_reason": reason}
        if live.held_since_t is not None:
            evidence["cancelled_after_s"] = round(at_t - live.held_since_t, 1)
        live.row = replace(live.row, evidence=evidence)
        self._persist(
            lambda: self.store.update_alert(live.row.id, state="cancelled", closed_reason=reason, evidence=evidence),
            lambda: live.row, {"state": "cancelled", "level": 0, "severity": Severity.INFO.value})
        self._forget(live)
        log.info("alert.cancelled", id=live.row.id, type=live.row.type, reason=reason)
        self._changed(live.row.id, "cancelled", reason)
        self._wake()

    def _close(self, live: _Live, state: str, *, reason: str) -> None:
        self._persist(lambda: self.store.update_alert(live.row.id, state=state, closed_reason=reason),
                      lambda: live.row, {"state": state, "level": live.row.level})
        self._forget(live)
        log.info("alert.closed", id=live.row.id, state=state, reason=reason)
        self._changed(live.row.id, state, reason)
        self._wake()

    def _send(self, live: _Live, *, state: str, note: str) -> None:
        self._persist(lambda: self.store.update_alert(live.row.id, evidence=live.row.evidence),
                      lambda: live.row, {"state": state, "level": live.row.level, "note": note})
        self._wake()

    def _persist(self, write: Callable[[], None], row: Callable[[], AlertRow],
                 message: dict[str, Any] | None) -> bool:
        """Run ``write`` and queue ``message`` in one durable transaction.

        If storage fails (a full or failing SD card), the message is still handed
        to the uplink from memory, so a help call is never dropped for want of a
        disk; the failure is logged as critical and counted.
        """
        try:
            with self.store.transaction():
                write()
                if message is not None:
                    self._enqueue(row(), **message)
            return True
        except sqlite3.Error as exc:
            self.storage_failures += 1
            log.critical("alert.storage_failed", id=row().id, type=row().type, error=str(exc))
            if message is not None and self._fallback is not None:
                self._fallback(self.topics.alert, self._message(row(), **message))
            return False

    def _message(self, row: AlertRow, *, state: str, level: int, severity: str | None = None,
                 note: str | None = None) -> bytes:
        extra: dict[str, Any] = {}
        if severity:
            extra["severity"] = severity
        if note:
            extra["note"] = note
        return alert_message(row, self.site, state=state, level=level, enqueued_mono=time.monotonic(), extra=extra)

    def _enqueue(self, row: AlertRow, *, state: str, level: int, severity: str | None = None,
                 note: str | None = None) -> None:
        payload = self._message(row, state=state, level=level, severity=severity, note=note)
        self.store.enqueue(self.topics.alert, payload, qos=1, alert_id=row.id)

    # --- helpers --------------------------------------------------------------

    def _pending(self, key: str) -> _Live | None:
        alert_id = self._by_key.get(key)
        if alert_id is None:
            return None
        live = self._live[alert_id]
        return live if live.row.state == "pending" else None

    def _forget(self, live: _Live) -> None:
        self._live.pop(live.row.id, None)
        if self._by_key.get(live.row.finding_key) == live.row.id:
            del self._by_key[live.row.finding_key]

    def _changed(self, alert_id: str, state: str, text: str) -> None:
        if self._on_change is not None:
            self._on_change({"alert_id": alert_id, "state": state, "text": text})

    def open_alerts(self) -> list[AlertRow]:
        return [live.row for live in self._live.values()]
