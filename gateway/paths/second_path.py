"""The second alarm path as a hub component: the modem, the SMS sender, replies, supervision, path test.

Built from ``[second_path]`` (gateway/components.py) and run by the supervisor like a
radio driver: a crash is logged and the component restarted, a change of its settings
rebuilds it, and the rest of the hub never waits for it. Four tasks: the modem's own
(it reopens its port by itself), the sender, the supervision tick (the technical alert
``second_path_unavailable`` and the periodic path test), and the replies, which the
modem hands in on the loop. docs/second-path.md.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import structlog

from detection.events import Finding, FindingState, Severity
from drivers.modem.types import ModemStatus
from gateway.config.second_path import SecondPathConfig
from gateway.paths.context import ModemFactory, PathContext
from gateway.paths.decisions import Availability, Change, bars, unusable_reason
from gateway.paths.ledger import SmsLedger
from gateway.paths.path_test import PathTest
from gateway.paths.replies import ReplyHandler
from gateway.paths.sender import AlertSender

log = structlog.get_logger("carehub.second_path")

SUPERVISION_S = 1.0
ALERT_TYPE = "second_path_unavailable"
ALERT_KEY = "second_path"
# Reasons the driver refuses a send at once: waiting for the modem costs no attempt.
_HOLD_PREFIXES = ("port", "sim:", "registration:searching", "registration:denied", "registration:not_registered")


class SecondPath:
    def __init__(self, cfg: SecondPathConfig, ctx: PathContext, make_modem: ModemFactory) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.counters: Counter[str] = Counter()
        self.modem = make_modem(self._on_sms, self._on_status)
        self.ledger = SmsLedger(ctx.store)
        self.sender = AlertSender(cfg, ctx, self.ledger, self.modem, self.counters)
        self.path_test = PathTest(cfg, ctx, self.sender)
        self.replies = ReplyHandler(cfg, ctx, self.ledger, self.sender, self.counters, self.path_test.reply)
        self.availability = Availability(cfg.unavailable_after_s)
        self.problem: str | None = "port"

    # --- the component ---------------------------------------------------------

    async def run(self) -> None:
        # An alert left open by an earlier run is cleared here when the path is fine again.
        self.availability.raised = any(a.finding_key == ALERT_KEY for a in self.ctx.policy.open_alerts())
        log.info("second_path.starting", recipients=len(self.cfg.recipients), after_s=self.cfg.after_s)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.modem.run())
            tg.create_task(self.sender.run(self._held))
            tg.create_task(self._supervise())

    def status(self) -> dict[str, Any]:
        st = self.modem.status
        last = self.path_test.last
        return {
            "enabled": True,
            "usable": self.problem is None,
            "problem": self.problem,
            "sim": st.sim,
            "registration": st.registration,
            "signal_dbm": st.signal_dbm,
            "csq": st.csq,
            "bars": bars(st.csq),
            "operator": st.operator,
            "checked_ago_s": round(time.monotonic() - st.checked_at, 1) if st.checked_at else None,
            "after_s": self.cfg.after_s,
            "recipients": [{"number": r.number, "role": r.role, "language": r.language, "name": r.name}
                           for r in self.cfg.recipients],
            "sending": self.sender.sending is not None,
            "held": self.sender.held,
            "path_test": last,
            "recent": self.recent(),
            "counters": {**dict(self.counters), "store_failures": self.ledger.write_failures},
            "modem": dict(self.modem.counters),
        }

    def recent(self, n: int = 3) -> list[dict[str, Any]]:
        """The alerts most recently on the path, with the last of their SMS life log (the page's list)."""
        ids = list(self.ledger.histories)[-n:]
        return [{"alert_id": a, "short_id": self.ledger.short_ids.get(a),
                 "sms": [{"wall": h["wall"], "event": h["event"], "level": h["level"], "number": h["number"],
                          "role": h.get("role"), "error": h.get("error")}
                         for h in self.ledger.histories[a] if h["event"] != "attempt"][-10:]}
                for a in reversed(ids)]

    # --- modem callbacks (on the loop) ----------------------------------------

    def _on_sms(self, sms: Any) -> None:
        self.replies.received(sms)

    def _on_status(self, status: ModemStatus) -> None:
        self.problem = unusable_reason(status.connected, status.sim, status.registration)
        self.sender.wake.set()  # registration back: what waited goes now

    def _held(self) -> str | None:
        problem = unusable_reason(*self._status_facts())
        self.problem = problem
        if problem is not None and problem.startswith(_HOLD_PREFIXES):
            return problem
        return None

    def _status_facts(self) -> tuple[bool, str, str]:
        st = self.modem.status
        return st.connected, st.sim, st.registration

    # --- supervision ------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            self._supervise_once(time.monotonic())
            await asyncio.sleep(SUPERVISION_S)

    def _supervise_once(self, now_t: float) -> None:
        problem = unusable_reason(*self._status_facts())
        self.problem = problem
        change = self.availability.step(problem, now_t)
        if change is Change.RAISE:
            self._finding(FindingState.RAISED, {"reason": problem, "port": self.cfg.port})
            log.error("second_path.unavailable", reason=problem, for_s=self.cfg.unavailable_after_s)
        elif change is Change.CLEAR:
            self._finding(FindingState.CLEARED, {"reason": "second path usable again"})
            log.info("second_path.available")
        self.path_test.tick(problem is None)

    def _finding(self, state: FindingState, evidence: dict[str, Any]) -> None:
        self.ctx.on_finding(Finding(type=ALERT_TYPE, severity=Severity.TECHNICAL, at=self.ctx.clock.now(),
                                    key=ALERT_KEY, state=state, evidence=evidence))
