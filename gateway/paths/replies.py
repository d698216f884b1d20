"""Replies by SMS: ``OK <id>`` / ``收到 <id>`` from a configured number acknowledges the alert.

Through the alert policy's own acknowledgement (``AlertPolicy.on_platform_ack``), so
the state machine takes the step and escalation stops exactly as if the platform had
acknowledged; then it is audited as ``sms (<number>)``, written in the alert's life
log with the message that tells the platform, and the sender gets a confirmation.
Anything else (an unknown number, an id the hub did not send, a reply it cannot read)
is counted and logged at most once a minute, and never acted on. A reply to an alert
that is already closed gets no answer, so that an automatic gateway and the hub can
never answer each other in a loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog

from drivers.modem.types import IncomingSms
from gateway.config.second_path import SecondPathConfig, SmsRecipient
from gateway.paths.context import PathContext, report
from gateway.paths.ledger import SmsLedger
from gateway.paths.sender import AlertSender, Extra
from gateway.paths.sms_text import confirmation_text, parse_reply, same_number

log = structlog.get_logger("carehub.second_path")

IGNORED_LOG_S = 60.0


class ReplyHandler:
    def __init__(self, cfg: SecondPathConfig, ctx: PathContext, ledger: SmsLedger, sender: AlertSender,
                 counters: Counter[str], on_test_reply: Callable[[str, SmsRecipient], bool]) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.ledger = ledger
        self.sender = sender
        self.counters = counters
        self._on_test_reply = on_test_reply
        self._ignored_logged = -1e9
        self._ignored_since = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def received(self, sms: IncomingSms) -> None:
        """The modem's ``on_sms``: quick, on the loop, idempotent (the modem may offer an SMS again)."""
        self.counters["replies"] += 1
        rcpt = next((r for r in self.cfg.recipients if same_number(r.number, sms.sender)), None)
        if rcpt is None:
            return self._ignore("unknown_number", sms.sender)
        reply = parse_reply(sms.text) if sms.complete else None
        if reply is None:
            return self._ignore("unreadable", sms.sender)
        if self._on_test_reply(reply.token, rcpt):
            return None
        alert_id = self._resolve(reply.token)
        if alert_id is None:
            return self._ignore("unknown_id", sms.sender, reply.token)
        if alert_id:  # "": an alert already closed, counted in _resolve
            self._acknowledge(alert_id, rcpt, sms.sender)
        return None

    def _resolve(self, token: str) -> str | None:
        """The alert whose SMS carried ``token`` (or a longer prefix of its id), preferring an open one."""
        if len(token) < 4:
            return None
        matches = [a for a in self.ledger.short_ids if a.replace("-", "").upper().startswith(token)]
        open_ids = {a.id for a in self.ctx.policy.open_alerts()}
        active = [a for a in matches if a in open_ids]
        if len(active) == 1:
            return active[0]
        if not active and matches:
            self.counters["replies_late"] += 1
            log.info("second_path.reply_late", id=matches[-1], token=token)
            return ""  # known, already closed: not acted on, not answered
        return None

    def _acknowledge(self, alert_id: str, rcpt: SmsRecipient, sender: str) -> None:
        by = f"sms ({sender})"
        self.ctx.policy.on_platform_ack(alert_id, by)
        row = self.ctx.store.get_alert(alert_id)
        if row is None or row.acked_by != by:
            return
        self.counters["acknowledged"] += 1
        detail: dict[str, Any] = {"role": rcpt.role, "from": sender}
        history = [*self.ledger.histories.get(alert_id, []),
                   {"wall": time.time(), "event": "acknowledged", "level": row.level, "number": rcpt.number, **detail}]
        self.ledger.record(alert_id, row.level, rcpt.number, "acknowledged", detail,
                           also=report(self.ctx, row, history, f"acknowledged by SMS reply from {rcpt.role} {sender}",
                                       acked=True))
        self.ctx.wake_uplink()
        log.warning("alert.sms_acknowledged", id=alert_id, by=by, role=rcpt.role, escalation_level=row.level,
                    after_raise_s=round(time.time() - row.raised_wall, 2))
        sid = self.ledger.short_ids.get(alert_id, alert_id[:4].upper())
        self.sender.extras.append(Extra(rcpt.number, confirmation_text(sid, row.type, rcpt.language),
                                        "confirmation", alert_id))
        self.sender.wake.set()
        task = asyncio.get_running_loop().create_task(
            self.ctx.audit(by, "alert.acknowledged", [{"path": "alert", "old": "open", "new": alert_id}]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ignore(self, why: str, sender: str, token: str | None = None) -> None:
        self.counters[f"replies_{why}"] += 1
        self._ignored_since += 1
        now = time.monotonic()
        if now - self._ignored_logged >= IGNORED_LOG_S:
            self._ignored_logged = now
            log.warning("second_path.reply_ignored", why=why, sender=sender, token=token,
                        ignored_since_last_line=self._ignored_since)
            self._ignored_since = 0
