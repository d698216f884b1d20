"""What the second path needs of the hub, and how it tells the platform about its SMS.

The component never reaches into the ``Hub``: the composition (gateway/components.py)
hands it this context, so that unit tests can give it a real store and alert policy
with a fake modem, and the daemon gives it the live ones.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from detection.events import Finding
from drivers.modem.types import ModemStatus
from gateway.alerts import AlertPolicy
from gateway.alerts.payload import alert_message
from gateway.clock import HubClock, iso
from gateway.store import AlertRow, Store
from gateway.topics import Topics


class SmsModem(Protocol):
    """The part of ``drivers.modem.Modem`` the second path uses."""

    @property
    def counters(self) -> Mapping[str, int]: ...

    @property
    def status(self) -> ModemStatus: ...

    async def run(self) -> None: ...

    async def send_sms(self, number: str, text: str) -> list[int]: ...


# (on_sms, on_status) -> a modem; the component gives it its callbacks.
ModemFactory = Callable[[Callable[[Any], None], Callable[[ModemStatus], None]], SmsModem]


@dataclass(frozen=True)
class PathContext:
    store: Store
    policy: AlertPolicy
    clock: HubClock
    site_id: Callable[[], str]
    site_name: Callable[[], str]  # what an SMS calls the home: its name, or the site id
    topics: Callable[[], Topics]
    uplink_connected: Callable[[], bool]
    wake_uplink: Callable[[], None]
    on_finding: Callable[[Finding], None]
    audit: Callable[[str, str, list[dict[str, Any]]], Coroutine[Any, Any, None]]


def history_view(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An alert's second-path life log as the platform and the page see it (attempts left out)."""
    out = []
    for h in history:
        if h["event"] == "attempt":
            continue
        entry: dict[str, Any] = {"at": iso(h["wall"]), "event": h["event"], "level": h["level"],
                                 "number": h["number"]}
        for k in ("role", "parts", "error", "short_id", "from"):
            if k in h:
                entry[k] = h[k]
        out.append(entry)
    return out


def report(ctx: PathContext, row: AlertRow, history: list[dict[str, Any]], note: str,
           acked: bool = False) -> Callable[[sqlite3.Connection], None]:
    """The alert message that tells the platform of an SMS event, queued in the caller's transaction.

    Through the outbox, so a platform that cannot be reached now hears it when the uplink is
    back (docs/mqtt.md, "The second path").
    """
    extra: dict[str, Any] = {"note": note, "second_path": {"sms": history_view(history)}}
    state = "open"
    if acked:
        state = "acked"
        extra["acked_by"] = row.acked_by
        extra["acked_at"] = iso(row.acked_wall) if row.acked_wall is not None else None
    payload = alert_message(row, ctx.site_id(), state=state, level=row.level, enqueued_mono=time.monotonic(),
                            extra=extra)

    def enqueue(db: sqlite3.Connection) -> None:
        ctx.store.enqueue(ctx.topics().alert, payload, qos=1, alert_id=row.id)  # joins the transaction

    return enqueue
