"""The alert policy as the hub uses it: the clock and the store on one side, the rules on the other.

``AlertPolicy`` reads the time and the store, hands each input to the pure rules
(``rules.py``, where the rules are written out), and gives their effects to the
applier (``apply.py``), which writes them in one SQLite transaction or, if the
card refuses, sends from memory. The alert's states and the legal steps between
them are in ``states.py``. The daemon and the page use only this class.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

from detection.events import Finding, Severity
from gateway.alerts.apply import EffectApplier
from gateway.alerts.effects import (
    AckReceived,
    Connected,
    Effect,
    Enqueue,
    FindingReceived,
    Input,
    Now,
    Resumed,
    StoreAlert,
    Tick,
)
from gateway.alerts.rules import AlertRules
from gateway.clock import HubClock
from gateway.config.schema import AlertConfig
from gateway.store import OPEN_STATES, AlertRow, Store
from gateway.topics import Topics


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
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clock = clock
        self._wall = wall
        self._rules = AlertRules(cfg)
        self._apply = EffectApplier(store, site, topics, wake_uplink, on_change, fallback_publish)

    # The daemon changes these live (settings applied without a restart).

    @property
    def cfg(self) -> AlertConfig:
        return self._rules.cfg

    @cfg.setter
    def cfg(self, cfg: AlertConfig) -> None:
        self._rules.cfg = cfg

    @property
    def site(self) -> str:
        return self._apply.site

    @site.setter
    def site(self, site: str) -> None:
        self._apply.site = site

    @property
    def topics(self) -> Topics:
        return self._apply.topics

    @topics.setter
    def topics(self, topics: Topics) -> None:
        self._apply.topics = topics

    @property
    def storage_failures(self) -> int:
        return self._apply.storage_failures

    # --- inputs ---------------------------------------------------------------

    def resume(self) -> None:
        """Pick up alerts left active by the previous run; a pending one is raised at once."""
        rows = tuple(reversed(self.store.alerts(OPEN_STATES, limit=10_000)))
        self._run(Resumed(rows, self._now()))

    def resend_open(self) -> int:
        """Queue every open, unacknowledged alert again at its current level (on each connect).

        Skips alerts that still have a message waiting in the outbox. Does not move the
        escalation countdown: a resend is the same message again, not a new level.
        """
        try:
            waiting = frozenset(self.store.outbox_alert_ids())
        except sqlite3.Error:
            waiting = frozenset()
        effects = self._run(Connected(waiting))
        return sum(1 for e in effects if isinstance(e, Enqueue))

    def on_finding(self, f: Finding) -> None:
        self._run(FindingReceived(f, self.clock.utc_of(f.at), self._now()))

    def on_platform_ack(self, alert_id: str, by: str | None = None) -> bool:
        """Record the platform's acknowledgement; False for an id the hub does not know."""
        # Memory first: an alert stored while the card refused writes is known only there.
        row = self._rules.active(alert_id) or self.store.get_alert(alert_id)
        self._run(AckReceived(alert_id, by, row, self._now()))
        return row is not None

    def tick(self) -> None:
        """Advance timers: end cancel windows, escalate unacknowledged alerts."""
        self._run(Tick(self._now()))

    def raise_test(self, actor: str) -> str:
        """A test alarm through the real path: stored, published, acknowledged."""
        at = self.clock.now()
        f = Finding(type="test", severity=Severity.INFO, at=at, key=f"test:{uuid.uuid4().hex}",
                    evidence={"requested_by": actor})
        effects = self._run(FindingReceived(f, self.clock.utc_of(at), self._now(), test=True))
        return next(e.row.id for e in effects if isinstance(e, StoreAlert))

    def open_alerts(self) -> list[AlertRow]:
        return [live.row for live in self._rules.book.alerts.values()]

    # --- the loop -------------------------------------------------------------

    def _now(self) -> Now:
        return Now(t=self.clock.now().t, wall=self._wall(), boot_id=self.clock.boot_id,
                   synced=bool(self.clock.synced))

    def _run(self, inp: Input) -> list[Effect]:
        effects = self._rules.decide(inp)
        for alert_id, seq in self._apply.apply(effects).items():
            self._rules.numbered(alert_id, seq)
        return effects
