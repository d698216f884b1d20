"""The hub's clocks.

A Pi has no real-time clock: it boots with a wall clock from the last shutdown
(or 1970) and jumps when NTP syncs. Intervals therefore use the monotonic clock;
wall-clock times are derived from it at the moment they are reported, with a
flag saying whether the wall clock was synchronised (ARCHITECTURE.md, "Time").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from detection.events import Stamp


def _default_synced() -> bool:
    try:
        from gateway.pi_health import clock_synced
    except ImportError:  # pragma: no cover - pi_health ships with the package
        return True
    return clock_synced()


def synced_from_env(env: Mapping[str, str]) -> Callable[[], bool] | None:
    """A synced wall clock forced by the tests (``CAREHUB_TEST_HOOKS=1 CAREHUB_TEST_CLOCK_SYNCED=1``).

    Test machines are often not NTP-synced (a container), and what a hub does only
    with a trustworthy date (the daily vitals summary) must still be tested
    through the real daemon. None: ask the kernel, as in production.
    """
    if env.get("CAREHUB_TEST_HOOKS") == "1" and env.get("CAREHUB_TEST_CLOCK_SYNCED") == "1":
        return lambda: True
    return None


class HubClock:
    """Stamps observations and turns stamps back into UTC for reports."""

    def __init__(self, synced: Callable[[], bool] | None = None) -> None:
        self._synced_fn = synced or _default_synced
        self._synced = self._synced_fn()
        self._synced_checked = time.monotonic()
        self.boot_id = uuid.uuid4().hex
        self.started = time.monotonic()

    def now(self) -> Stamp:
        mono = time.monotonic()
        if mono - self._synced_checked > 30:
            # Asking the kernel is cheap, but not per radio frame.
            self._synced = self._synced_fn()
            self._synced_checked = mono
        wall = time.time()
        offset = time.localtime(wall).tm_gmtoff
        return Stamp(mono, wall + offset, self._synced)

    @property
    def synced(self) -> bool:
        return self._synced

    def utc_of(self, stamp: Stamp) -> float:
        """POSIX time of a stamp taken this boot, by way of the monotonic clock."""
        return time.time() - (time.monotonic() - stamp.t)

    def uptime_s(self) -> float:
        return time.monotonic() - self.started


def iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
