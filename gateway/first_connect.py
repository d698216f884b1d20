"""The uplink's wait for its turn after a boot: the I/O half of ``gateway/boot_spread.py``.

The wait ends early, and the hub connects at once, when an emergency or urgent
alert is waiting in the outbox, is open and not yet acknowledged, or was sent
from memory because the card refused it; ``wake`` (set by every alert queued)
makes the uplink look again during the wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable

import structlog

from gateway.boot_spread import BootGate
from gateway.store import Store

log = structlog.get_logger("carehub.uplink")

URGENT = frozenset({"emergency", "urgent"})  # alerts that never wait for the boot spread


def system_uptime_s() -> float:
    """Seconds since the kernel booted (suspend included): tells a boot from a service restart."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def urgent_waiting(store: Store, sent_from_memory: bool) -> str | None:
    """Why the hub must connect now (None: it may wait its turn)."""
    if sent_from_memory:
        return "sent_from_memory"
    try:
        waiting = [store.get_alert(alert_id) for alert_id in store.outbox_alert_ids()]
        if any(row is not None and row.severity in URGENT for row in waiting):
            return "alert_waiting"
        if any(row.severity in URGENT for row in store.alerts(("open",), limit=100)):
            return "alert_unacknowledged"
    except sqlite3.Error:
        return "store_unreadable"  # cannot tell: a help call may be in there
    return None


async def woken_within(wake: asyncio.Event, limit_s: float) -> bool:
    """Whether ``wake`` was set within ``limit_s``. asyncio.timeout, not wait_for: Python 3.11's
    wait_for loses a cancellation that lands as the event is set (gh-86296)."""
    try:
        async with asyncio.timeout(limit_s):
            await wake.wait()
    except TimeoutError:
        return False
    return True


async def wait_for_turn(gate: BootGate, wake: asyncio.Event, counters: Counter[str], window_s: float,
                        urgent: Callable[[], str | None]) -> None:
    if gate.delay_s <= 0:
        return
    log.info("uplink.boot_spread", delay_s=round(gate.delay_s, 1), window_s=window_s)
    while (remaining := gate.remaining_s(time.monotonic())) > 0:
        reason = urgent()
        if reason is not None:
            gate.skip(reason)
            counters["boot_spread_skipped"] += 1
            log.info("uplink.boot_spread_skipped", reason=reason, remaining_s=round(remaining, 1))
            return
        wake.clear()  # set again by the next alert queued; connecting sets it anyway
        await woken_within(wake, remaining)
    counters["boot_spread_waited"] += 1
