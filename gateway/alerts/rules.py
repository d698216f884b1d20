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

This module is the rules only: no clock, no store, no network (sans-I/O, like
h11). ``AlertRules.decide`` takes an input (``effects.py``) and returns the
effects; every change of an alert's state goes through ``states.next_state``.
The rules keep the active alerts in memory (``book``), so that a card that
refuses writes does not stop a fall's window from ending or a help call from
escalating.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from detection.events import Finding, FindingState, Severity
from gateway.alerts.book import AlertBook, Live, step
from gateway.alerts.effects import (
    AckReceived,
    Connected,
    Effect,
    Enqueue,
    FindingReceived,
    Input,
    Log,
    Notify,
    Now,
    Resumed,
    StoreAlert,
    Tick,
    UpdateAlert,
    WakeUplink,
)
from gateway.alerts.requests import REQUEST_TYPE, fold_request, raised_log
from gateway.alerts.states import ACTIVE, AlertEvent, AlertState, next_state
from gateway.config.schema import AlertConfig
from gateway.store import AlertRow

ESCALATING = {Severity.EMERGENCY.value, Severity.URGENT.value}
E = AlertEvent


def _new_id() -> str:
    return str(uuid.uuid4())


class AlertRules:
    """The alert rules over the active alerts (``book``); ``decide`` is the only way in."""

    def __init__(self, cfg: AlertConfig, new_id: Callable[[], str] = _new_id) -> None:
        self.cfg = cfg
        self._new_id = new_id
        self.book = AlertBook()

    def decide(self, inp: Input) -> list[Effect]:
        out: list[Effect] = []
        match inp:
            case FindingReceived():
                self._finding(inp, out)
            case AckReceived():
                self._ack(inp, out)
            case Tick():
                self._tick(inp.now, out)
            case Connected():
                self._connected(inp.waiting, out)
            case Resumed():
                self._resume(inp, out)
        return out

    def numbered(self, alert_id: str, seq: int) -> None:
        """The store (or memory, when the store failed) gave ``alert_id`` its sequence number."""
        live = self.book.get(alert_id)
        if live is not None and live.row.seq != seq:
            live.row = replace(live.row, seq=seq)

    def active(self, alert_id: str) -> AlertRow | None:
        live = self.book.get(alert_id)
        return live.row if live is not None else None

    # --- inputs ---------------------------------------------------------------

    def _resume(self, inp: Resumed, out: list[Effect]) -> None:
        now = inp.now
        for row in inp.rows:
            live = Live(row, last_sent_t=now.t - self._sent_ago(row, now.wall))
            self.book.remember(live)
            if row.state == AlertState.PENDING:
                out.append(Log("warning", "alert.pending_at_start", {"id": row.id, "type": row.type}))
                self._raise_pending(live, now, out)
            else:
                out.append(Log("info", "alert.resumed", {"id": row.id, "type": row.type,
                                                          "escalation_level": row.level}))

    def _sent_ago(self, row: AlertRow, now_wall: float) -> float:
        """How long ago ``row`` was last sent, for the escalation countdown after a restart."""
        if row.last_sent_wall is None:
            return self.cfg.ack_timeout_s  # stored by a hub that did not record it: overdue
        ago = now_wall - row.last_sent_wall
        # A clock that went back (no RTC, NTP not yet synced) gives an age we cannot
        # trust: escalating early is the safe side of that doubt.
        return ago if ago >= 0 else self.cfg.ack_timeout_s

    def _connected(self, waiting: frozenset[str], out: list[Effect]) -> None:
        # A resend does not move the escalation countdown: it is the same message again.
        sent = 0
        for live in self.book.by_seq():
            row = live.row
            if row.state != AlertState.OPEN or row.id in waiting:
                continue
            step(live, E.RESENT)
            out.append(Enqueue(row, state="open", level=row.level, note="re-sent on connect"))
            sent += 1
        if sent:
            out.append(Log("info", "alert.resent_on_connect", {"alerts": sent}))
            out.append(WakeUplink())

    def _finding(self, inp: FindingReceived, out: list[Effect]) -> None:
        f = inp.finding
        if inp.test:
            self._open(inp, out)
        elif f.state is FindingState.RAISED:
            self._on_raised(inp, out)
        elif f.state is FindingState.CANCELLED:
            self._on_cancelled(f, out)
        else:
            self._on_cleared(f, out)

    def _ack(self, inp: AckReceived, out: list[Effect]) -> None:
        row = inp.row
        if row is None:
            out.append(Log("warning", "alert.ack_unknown", {"id": inp.alert_id}))
            return
        if row.acked_wall is not None:
            return  # the platform may acknowledge twice; once counts
        state = next_state(row.state, E.ACKNOWLEDGED, row.id)
        out.append(UpdateAlert(row, {"state": state.value, "acked_wall": inp.now.wall, "acked_by": inp.by}))
        live = self.book.get(row.id)
        if live is not None:
            self.book.forget(live)
        out.append(Log("info", "alert.acked", {"id": row.id, "by": inp.by, "escalation_level": row.level}))
        out.append(Notify(row.id, state.value, "acknowledged by the platform"))

    def _tick(self, now: Now, out: list[Effect]) -> None:
        for live in list(self.book.alerts.values()):
            row = live.row
            if row.state == AlertState.PENDING:
                if live.hold_until_t is not None and now.t >= live.hold_until_t:
                    self._raise_pending(live, now, out)
            elif (
                row.state == AlertState.OPEN
                and (row.severity in ESCALATING or row.test)
                and live.last_sent_t is not None
                and now.t - live.last_sent_t >= self.cfg.ack_timeout_s
            ):
                if row.test:
                    live.last_sent_t = now.t  # test alarms wait for their ack but never escalate
                    continue
                self._escalate(live, now, now.t, "no acknowledgement", out)

    # --- rules ----------------------------------------------------------------

    def _on_raised(self, inp: FindingReceived, out: list[Effect]) -> None:
        f = inp.finding
        if f.type == "help_call" and f.device:
            pending_fall = self.book.pending(f"fall:{f.device}")
            if pending_fall is not None:
                self._cancel(pending_fall, E.CANCELLED, "button", f.at.t, out)
                return
        existing = self.book.for_key(f.key)
        if existing is not None:
            if f.type == "help_call":
                self._repeat_press(existing, f, inp.now, out)
            elif f.type == REQUEST_TYPE:
                out += fold_request(existing, f)
            else:
                out.append(Log("debug", "alert.duplicate_finding", {"id": existing.row.id, "key": f.key}))
            return
        self._open(inp, out)

    def _repeat_press(self, live: Live, f: Finding, now: Now, out: list[Effect]) -> None:
        step(live, E.PRESSED_AGAIN)
        row = live.row
        presses = int(row.evidence.get("presses", 1)) + 1
        evidence = {**row.evidence, "presses": presses}
        live.row = row = replace(row, evidence=evidence)
        within = live.last_press_t is not None and f.at.t - live.last_press_t <= self.cfg.help_repeat_window_s
        live.last_press_t = f.at.t
        if within or row.state != AlertState.OPEN:
            out.append(UpdateAlert(row, {"evidence": evidence}))
            out.append(Log("info", "alert.press_folded", {"id": row.id, "presses": presses}))
            return
        self._escalate(live, now, f.at.t, "pressed again", out)

    def _on_cancelled(self, f: Finding, out: list[Effect]) -> None:
        reason = str(f.evidence.get("reason", "cancelled"))
        if reason == "recovery":
            self._recovered(f, out)
            return
        pending = self.book.pending(f.key)
        if pending is not None:
            self._cancel(pending, E.CANCELLED, reason, f.at.t, out)
            return
        live = self.book.for_key(f.key)
        if live is None:
            return
        # Already raised: the platform was told; tell it the wearer says they are
        # fine, but leave closing the alert to a person at the platform.
        step(live, E.CANCELLED)
        live.row = replace(live.row, evidence={**live.row.evidence, "cancelled_after_raise": reason})
        self._send(live, f"wearer cancelled after raise ({reason})", out)

    def _recovered(self, f: Finding, out: list[Effect]) -> None:
        """The detector saw the wearer get up after a fall: urgent, not cancelled.

        A fall is the strongest predictor of the next one and people who get up can
        still be hurt, so a recovery never closes the alert; it only lowers a pending
        fall from emergency to urgent. The cancel window keeps running, so the
        wearer's own button can still cancel it.
        """
        live = self.book.for_key(f.key)
        if live is None:
            return  # already cancelled by the button or acknowledged: nothing to change
        state = step(live, E.RECOVERED)
        recovery = {k: v for k, v in f.evidence.items() if k != "reason"}
        if live.held_since_t is not None:
            recovery["after_s"] = round(f.at.t - live.held_since_t, 1)
        evidence = {**live.row.evidence, "recovered": True, "recovery": recovery}
        if state is AlertState.PENDING:
            live.row = row = replace(live.row, severity=Severity.URGENT.value, evidence=evidence)
            out.append(UpdateAlert(row, {"severity": row.severity, "evidence": evidence}))
            out.append(Log("info", "alert.fall_recovered", {"id": row.id}))
            out.append(Notify(row.id, state.value, "wearer got up: urgent fall"))
            return
        # Already raised as an emergency: tell the platform; a person there decides.
        live.row = replace(live.row, evidence=evidence)
        self._send(live, "wearer got up after the fall was raised", out)

    def _on_cleared(self, f: Finding, out: list[Effect]) -> None:
        live = self.book.for_key(f.key)
        if live is None:
            return
        if live.row.state == AlertState.PENDING:
            self._cancel(live, E.CLEARED, str(f.evidence.get("reason", "cleared")), f.at.t, out)
            return
        state = step(live, E.CLEARED)
        reason = str(f.evidence.get("reason", "condition ended"))
        row = live.row
        out.append(UpdateAlert(row, {"state": state.value, "closed_reason": reason}))
        out.append(Enqueue(row, state=state.value, level=row.level))
        self.book.forget(live)
        out.append(Log("info", "alert.closed", {"id": row.id, "state": state.value, "reason": reason}))
        out.append(Notify(row.id, state.value, reason))
        out.append(WakeUplink())

    # --- transitions ----------------------------------------------------------

    def _open(self, inp: FindingReceived, out: list[Effect]) -> None:
        f, now = inp.finding, inp.now
        hold = f.cancel_window_s > 0
        if hold:
            event = E.HELD
        elif f.severity.value in ESCALATING or inp.test or f.severity is Severity.TECHNICAL or f.type == REQUEST_TYPE:
            # A call request waits for the platform's acknowledgement like an alert, but it is
            # not urgent (severity info): it is never escalated and has no cancel window.
            event = E.RAISED
        else:
            event = E.CLOSED_AS_NOTICE
        state = next_state(AlertState.NEW, event)
        row = AlertRow(
            id=self._new_id(),
            seq=0,  # numbered by the store when applied, or from memory if the store fails
            type=f.type,
            severity=f.severity.value,
            state=state.value,
            finding_key=f.key,
            device=f.device,
            room=f.room,
            level=0,
            test=inp.test,
            boot_id=now.boot_id,
            detected_wall=inp.detected_wall,
            raised_wall=now.wall,
            clock_synced=bool(f.at.synced and now.synced),
            evidence=dict(f.evidence),
            first_published_wall=None,
            acked_wall=None,
            acked_by=None,
            closed_reason="notice" if state is AlertState.CLOSED else None,
            last_sent_wall=None if hold else now.wall,
        )
        out.append(StoreAlert(row))
        if not hold:
            out.append(Enqueue(row, state="open", level=0))
            out.append(WakeUplink())
        if state in ACTIVE:
            live = Live(row, last_press_t=f.at.t if f.type == "help_call" else None)
            if hold:
                live.hold_until_t = f.at.t + f.cancel_window_s
                live.held_since_t = f.at.t
                out.append(Log("info", "alert.cancel_window", {"id": row.id, "seconds": f.cancel_window_s}))
            else:
                live.last_sent_t = now.t
            self.book.remember(live)
        if f.type == REQUEST_TYPE:
            out.append(raised_log(row, f))
        out.append(Notify(row.id, state.value, f"{row.severity} {row.type}"))

    def _raise_pending(self, live: Live, now: Now, out: list[Effect]) -> None:
        state = step(live, E.WINDOW_ENDED)
        live.row = row = replace(live.row, state=state.value, raised_wall=now.wall, last_sent_wall=now.wall)
        out.append(UpdateAlert(row, {"state": state.value, "raised_wall": row.raised_wall,
                                        "last_sent_wall": row.last_sent_wall}))
        out.append(Enqueue(row, state=state.value, level=row.level))
        live.hold_until_t = None
        live.last_sent_t = now.t
        out.append(Log("info", "alert.raised_after_window", {"id": row.id, "type": row.type}))
        out.append(Notify(row.id, state.value, "cancel window ended"))
        out.append(WakeUplink())

    def _escalate(self, live: Live, now: Now, at_t: float, reason: str, out: list[Effect]) -> None:
        state = step(live, E.ESCALATED)
        level = min(live.row.level + 1, self.cfg.max_escalation_level)
        live.row = row = replace(live.row, level=level, last_sent_wall=now.wall)
        out.append(UpdateAlert(row, {"level": level, "evidence": row.evidence,
                                        "last_sent_wall": row.last_sent_wall}))
        out.append(Enqueue(row, state=state.value, level=level))
        live.last_sent_t = at_t
        out.append(Log("warning", "alert.escalated", {"id": row.id, "escalation_level": level, "reason": reason}))
        out.append(Notify(row.id, state.value, f"escalated to level {level}: {reason}"))
        out.append(WakeUplink())

    def _cancel(self, live: Live, event: AlertEvent, reason: str, at_t: float, out: list[Effect]) -> None:
        state = step(live, event)
        evidence: dict[str, Any] = {**live.row.evidence, "cancel_reason": reason}
        if live.held_since_t is not None:
            evidence["cancelled_after_s"] = round(at_t - live.held_since_t, 1)
        live.row = row = replace(live.row, evidence=evidence)
        out.append(UpdateAlert(row, {"state": state.value, "closed_reason": reason, "evidence": evidence}))
        out.append(Enqueue(row, state=state.value, level=0, severity=Severity.INFO.value))
        self.book.forget(live)
        out.append(Log("info", "alert.cancelled", {"id": row.id, "type": row.type, "reason": reason}))
        out.append(Notify(row.id, state.value, reason))
        out.append(WakeUplink())

    def _send(self, live: Live, note: str, out: list[Effect]) -> None:
        row = live.row
        out.append(UpdateAlert(row, {"evidence": row.evidence}))
        out.append(Enqueue(row, state=row.state, level=row.level, note=note))
        out.append(WakeUplink())
