"""The active alerts (pending and open) as the rules hold them this boot.

Kept in memory, not read from the store per tick: a card that refuses writes
must not stop a fall's cancel window from ending or a help call from escalating.
Every change of an alert's state goes through ``step``, and so through the
transition table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.alerts.states import AlertEvent, AlertState, next_state
from gateway.store import AlertRow


@dataclass
class Live:
    """An active alert, with the timers that live only on this boot's monotonic clock."""

    row: AlertRow
    last_sent_t: float | None = None
    hold_until_t: float | None = None
    held_since_t: float | None = None
    last_press_t: float | None = None


def step(live: Live, event: AlertEvent) -> AlertState:
    """Move ``live`` by ``event`` through the table (raises ``IllegalTransition``)."""
    state = next_state(live.row.state, event, live.row.id)
    if live.row.state != state:
        live.row = replace(live.row, state=state.value)
    return state


class AlertBook:
    """Active alerts by id, and by the condition (finding key) they stand for: one per condition."""

    def __init__(self) -> None:
        self.alerts: dict[str, Live] = {}
        self._by_key: dict[str, str] = {}

    def get(self, alert_id: str) -> Live | None:
        return self.alerts.get(alert_id)

    def for_key(self, key: str) -> Live | None:
        alert_id = self._by_key.get(key)
        return self.alerts[alert_id] if alert_id is not None else None

    def pending(self, key: str) -> Live | None:
        live = self.for_key(key)
        return live if live is not None and live.row.state == AlertState.PENDING else None

    def remember(self, live: Live) -> None:
        self.alerts[live.row.id] = live
        self._by_key[live.row.finding_key] = live.row.id

    def forget(self, live: Live) -> None:
        self.alerts.pop(live.row.id, None)
        if self._by_key.get(live.row.finding_key) == live.row.id:
            del self._by_key[live.row.finding_key]

    def by_seq(self) -> list[Live]:
        return sorted(self.alerts.values(), key=lambda lv: lv.row.seq)
