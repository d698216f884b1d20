"""Sending alerts by SMS: the due sends of ``decisions.py`` carried out through the modem, one at a time.

Each send is recorded before the modem is asked (``attempt``) and after it answers
(``sent``, ``failed``, ``gave_up``), the outcome together with the alert message that
tells the platform. A modem that hangs holds only this task: the alert policy, the
uplink and the rest of the hub go on, and the send gives up after its timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import structlog

from drivers.modem.types import ModemError
from gateway.config.second_path import SecondPathConfig, SmsRecipient
from gateway.paths.context import PathContext, SmsModem, report
from gateway.paths.decisions import (
    Outcome,
    SendKey,
    Watched,
    after_failure,
    due_at,
    due_sends,
    eligible,
    uplink_down,
)
from gateway.paths.ledger import SmsLedger
from gateway.paths.sms_text import AlertFacts, alert_text, short_id
from gateway.store import AlertRow

log = structlog.get_logger("carehub.second_path")

TIMEOUT_MARGIN_S = 15.0  # beyond the modem's own send timeout: a driver that never answers


@dataclass(frozen=True)
class Extra:
    """A message that is not an alert: a confirmation of an SMS acknowledgement, a path test."""

    number: str
    text: str
    kind: str  # "confirmation" | "path_test"
    alert_id: str | None = None
    attempts: int = 0


def sent_times(ledger: SmsLedger, now_t: float, now_wall: float) -> dict[tuple[str, str], float]:
    """When each (alert, number) last had an SMS, on this boot's monotonic clock (from the ledger's wall
    times, so that the gap between two levels holds across a restart; a time in the future is ignored)."""
    out: dict[tuple[str, str], float] = {}
    for alert_id, history in ledger.histories.items():
        for h in history:
            age = now_wall - h["wall"]
            if h["event"] == Outcome.SENT.value and age >= 0:
                out[(alert_id, h["number"])] = now_t - age
    return out


class AlertSender:
    def __init__(self, cfg: SecondPathConfig, ctx: PathContext, ledger: SmsLedger, modem: SmsModem,
                 counters: Counter[str]) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.ledger = ledger
        self.modem = modem
        self.counters = counters
        self.recipients = {r.number: r for r in cfg.recipients}
        self._due_t: dict[str, float] = {}
        self._sent_t = sent_times(ledger, time.monotonic(), time.time())  # (alert, number) -> its last SMS
        self._last_up_t = time.monotonic()
        self.extras: deque[Extra] = deque(maxlen=32)
        self.wake = asyncio.Event()
        self.sending: SendKey | Extra | None = None
        self.held: str | None = None  # why sends wait (the modem cannot send now)

    # --- what is due ------------------------------------------------------------

    def watched(self, now_t: float) -> list[Watched]:
        """The active alerts, each with the time it goes on the path (first seen open, this boot)."""
        wall = time.time()
        rows = self.ctx.policy.open_alerts()
        out = []
        for row in rows:
            w = Watched(row.id, row.severity, row.state, row.level, row.test, row.seq, 0.0)
            if not eligible(w):
                continue
            if row.id not in self._due_t:
                self._due_t[row.id] = due_at(now_t, wall - row.raised_wall, self.cfg.after_s)
            out.append(Watched(row.id, row.severity, row.state, row.level, row.test, row.seq, self._due_t[row.id]))
        live = {w.alert_id for w in out}
        for gone in set(self._due_t) - live:
            del self._due_t[gone]
        for pair in [p for p in self._sent_t if p[0] not in live]:
            del self._sent_t[pair]
        return out

    def uplink_down(self, now_t: float) -> bool:
        connected = self.ctx.uplink_connected()
        if connected:
            self._last_up_t = now_t
        return uplink_down(connected, self._last_up_t, now_t)

    def next_due(self, now_t: float) -> SendKey | None:
        keys = due_sends(self.watched(now_t), list(self.recipients), self.ledger.states, self.ledger.on_path,
                         uplink_down=self.uplink_down(now_t), now_t=now_t, last_sent_t=self._sent_t)
        return keys[0] if keys else None

    # --- the loop ---------------------------------------------------------------

    async def run(self, can_send: Any) -> None:
        """Send what is due, most important first; ``can_send()`` is None or why the modem cannot send."""
        while True:
            self.held = can_send()
            key = None if self.held else self.next_due(time.monotonic())
            if key is not None:
                await self.send(key)
                continue
            if self.extras and not self.held:
                await self.send_extra(self.extras.popleft())
                continue
            self.wake.clear()
            try:
                async with asyncio.timeout(0.5):
                    await self.wake.wait()
            except TimeoutError:
                pass

    async def _modem_send(self, number: str, text: str) -> tuple[list[int] | None, str | None]:
        try:
            async with asyncio.timeout(self.cfg.send_timeout_s + TIMEOUT_MARGIN_S):
                refs = await self.modem.send_sms(number, text)
            return refs, None
        except ModemError as exc:
            return None, exc.reason
        except TimeoutError:
            self.counters["send_hung"] += 1
            return None, "timeout"

    async def send(self, key: SendKey) -> None:
        row = self._active(key.alert_id)
        if row is None:
            return
        rcpt = self.recipients[key.number]
        sid = self.ledger.short_ids.get(row.id) or short_id(
            row.id, [a.id for a in self.ctx.policy.open_alerts()] + list(self.ledger.short_ids))
        text = alert_text(self._facts(row, sid), rcpt.language)
        self.ledger.record(row.id, key.level, key.number, "attempt", {"short_id": sid, "role": rcpt.role})
        self.sending = key
        started = time.monotonic()
        try:
            refs, error = await self._modem_send(key.number, text)
        finally:
            self.sending = None
        now_t = time.monotonic()
        row = self._active(row.id) or row
        if error is None:
            assert refs is not None
            self.counters["sms_sent"] += 1
            self._sent_t[(row.id, key.number)] = now_t
            self._outcome(row, key, rcpt, Outcome.SENT, {"parts": len(refs)},
                          f"sent by SMS to {rcpt.role} {key.number}")
            log.warning("alert.sms_sent", id=row.id, short_id=sid, escalation_level=key.level, to=key.number,
                        role=rcpt.role, parts=len(refs), send_s=round(now_t - started, 2),
                        after_raise_s=round(time.time() - row.raised_wall, 2))
            return
        self.counters["sms_failed"] += 1
        attempts = self.ledger.states[key].attempts
        outcome, retry_t = (Outcome.GAVE_UP, now_t) if error == "invalid" else after_failure(attempts, now_t)
        self._outcome(row, key, rcpt, outcome, {"error": error, "attempts": attempts},
                      f"SMS to {rcpt.role} {key.number} failed ({error})", retry_t)
        log.error("alert.sms_failed", id=row.id, escalation_level=key.level, to=key.number, error=error,
                  attempts=attempts, outcome=outcome.value, retry_in_s=round(retry_t - now_t, 1))

    def _outcome(self, row: AlertRow, key: SendKey, rcpt: SmsRecipient, outcome: Outcome, detail: dict[str, Any],
                 note: str, retry_t: float = 0.0) -> None:
        detail = {"role": rcpt.role, **detail}
        history = [*self.ledger.histories.get(row.id, []),
                   {"wall": time.time(), "event": outcome.value, "level": key.level, "number": key.number, **detail}]
        self.ledger.record(row.id, key.level, key.number, outcome.value, detail,
                           also=report(self.ctx, row, history, note), retry_t=retry_t)
        self.ctx.wake_uplink()

    async def send_extra(self, extra: Extra) -> None:
        self.sending = extra
        try:
            refs, error = await self._modem_send(extra.number, extra.text)
        finally:
            self.sending = None
        self.counters[f"{extra.kind}_{'sent' if error is None else 'failed'}"] += 1
        if error is not None and error != "invalid" and extra.attempts < 2:
            self.extras.append(Extra(extra.number, extra.text, extra.kind, extra.alert_id, extra.attempts + 1))
        if extra.alert_id is not None and extra.kind == "confirmation":
            level = self._level(extra.alert_id)
            self.ledger.record(extra.alert_id, level, extra.number,
                               "confirmation_sent" if error is None else "confirmation_failed",
                               {"error": error} if error else {"parts": len(refs or [])})
        log.info(f"second_path.{extra.kind}", to=extra.number, error=error)

    # --- helpers ----------------------------------------------------------------

    def _active(self, alert_id: str) -> AlertRow | None:
        return next((a for a in self.ctx.policy.open_alerts() if a.id == alert_id), None)

    def _level(self, alert_id: str) -> int:
        row = self.ctx.store.get_alert(alert_id)
        return row.level if row is not None else 0

    def _facts(self, row: AlertRow, sid: str) -> AlertFacts:
        local = time.strftime("%m-%d %H:%M", time.localtime(row.detected_wall))
        return AlertFacts(sid, row.type, row.severity, row.level, row.room, row.device, local,
                          self.ctx.site_name())
