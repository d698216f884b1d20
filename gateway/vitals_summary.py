"""The daily vitals summary: after each local midnight, the day's numbers to the platform (docs/mqtt.md).

Through the outbox, so a broker that is away delays the message and never
loses it. Once per day: the last day sent is kept in the store; a hub that was
off for days sends each missed day (up to a week, in order, those without any
measurement too: a day nothing was measured is news to a care team). Nothing
is sent while the wall clock is not synced (the day would be wrong), nor when
the vital-sign detector is switched off. At least once: the ``date`` names
the day, for the platform to drop a repeat after a crash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import structlog

from detection.events import SECONDS_PER_DAY
from detection.vitals import VitalsMonitor
from gateway.clock import HubClock
from gateway.store import Store

log = structlog.get_logger("carehub.vitals")
SENT_KEY = "vitals_summary.last_day"
MAX_BACKLOG_DAYS = 7


class DailyVitalsSender:
    def __init__(self, detectors: Callable[[], list[Any]], store: Store, topic: Callable[[], str], site: str,
                 clock: HubClock, wake: Callable[[], None]) -> None:
        self._detectors = detectors
        self._store = store
        self._topic = topic
        self._site = site
        self._clock = clock
        self._wake = wake

    def tick(self) -> None:
        self.send_due()

    def send_due(self) -> list[int]:
        """Queue the summaries of the days that ended since the last one sent; the days queued."""
        monitor = next((d for d in self._detectors() if isinstance(d, VitalsMonitor)), None)
        now = self._clock.now()
        if monitor is None or not now.synced:
            return []
        today = int(now.local // SECONDS_PER_DAY)
        raw = self._store.kv_get(SENT_KEY)
        if raw is None or not raw.lstrip("-").isdigit():
            self._store.kv_set(SENT_KEY, str(today - 1))  # a new hub: the first summary is today's, tomorrow
            return []
        first = max(int(raw) + 1, today - MAX_BACKLOG_DAYS)
        days = list(range(first, today))
        for day in days:
            body = {"site": self._site, "type": "vitals_summary", **monitor.summary(day),
                    "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self._store.enqueue(self._topic(), json.dumps(body, separators=(",", ":")).encode(), qos=1)
            self._store.kv_set(SENT_KEY, str(day))
            log.info("vitals.summary_queued", date=body["date"], measurements=body["measurements"])
        if days:
            self._wake()
        return days


def vitals_view(detectors: list[Any], today: int, days: int = 7) -> dict[str, Any] | None:
    """The person's last readings and the summaries of the last ``days`` days (the page, the status reply)."""
    monitor = next((d for d in detectors if isinstance(d, VitalsMonitor)), None)
    if monitor is None:
        return None
    return {"person": monitor.settings.person,
            "days": [monitor.summary(day) for day in range(today - days + 1, today + 1)],
            "last": {kind: {"value": value, "local": local} for kind, (value, local) in monitor.daily.last.items()}}
