"""What the page may take from the hub: connections, descriptors, live streams, connection tests, log lines.

The page shares one process with the alert path. Whatever a browser (or
anything else on the home's network) does to the page must leave descriptors
for the MQTT uplink and the radios, and must not flood the journal. These are
the counters and gates; ``gateway.web.listener`` applies them at accept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.config.validation import is_lan_address

LOG_INTERVAL_S = 60.0


class LogOnce:
    """A warning that may repeat thousands of times a second: counted always, logged once per interval.

    The first occurrence of each event is logged at once; later ones within the
    interval only add to the count, which the next line reports as ``suppressed``.
    """

    def __init__(self, logger: Any, interval_s: float = LOG_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.counts: dict[str, int] = {}
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, event: str, **fields: Any) -> bool:
        """Count ``event``; log it if none was logged within the interval. True when logged."""
        self.counts[event] = self.counts.get(event, 0) + 1
        now = self.clock()
        last = self._last.get(event)
        if last is not None and now - last < self.interval_s:
            self._suppressed[event] = self._suppressed.get(event, 0) + 1
            return False
        self._last[event] = now
        suppressed = self._suppressed.pop(event, 0)
        self.logger.warning(event, count=self.counts[event], suppressed=suppressed, **fields)
        return True


class AcceptFloodFilter(logging.Filter):
    """asyncio's "socket.accept() out of system resource" line, once per interval with a count.

    asyncio logs it on every accept attempt that fails for want of a descriptor
    (227,000 lines in 25 s were seen); the count is what matters.
    """

    MESSAGE = "socket.accept() out of system resource"

    def __init__(self, interval_s: float = LOG_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self.count = 0
        self._last: float | None = None
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.MESSAGE):
            return True
        self.count += 1
        now = self.clock()
        if self._last is not None and now - self._last < self.interval_s:
            self._suppressed += 1
            return False
        self._last = now
        record.msg = f"{record.msg}\n(count: {self.count}, not logged since the last line: {self._suppressed})"
        record.exc_info = None  # the same traceback every time says nothing new
        self._suppressed = 0
        return True


def install_accept_flood_filter(logger: logging.Logger | None = None) -> AcceptFloodFilter:
    """Put the filter on the asyncio logger once (a restarted page must not stack filters)."""
    target = logger or logging.getLogger("asyncio")
    for existing in target.filters:
        if isinstance(existing, AcceptFloodFilter):
            return existing
    f = AcceptFloodFilter()
    target.addFilter(f)
    return f


def open_descriptors() -> int | None:
    """How many descriptors this process has open (None where /proc is not readable)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


# select(), which paho's own network thread uses (the page's "test connection" runs one), cannot
# watch a descriptor numbered 1024 or above: however high the process's limit (LimitNOFILE), the
# page keeps the count below that. It never needs more than its 64 connections anyway.
SELECT_LIMIT = 1024


def descriptor_limit() -> int:
    """The number of open descriptors the page must stay clear of."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(SELECT_LIMIT, soft) if soft != resource.RLIM_INFINITY else SELECT_LIMIT


@dataclass(frozen=True)
class ConnectionLimits:
    # A phone's browser opens up to 6 connections to a host, plus one live event stream.
    total: int = 64
    per_peer: int = 16
    # Descriptors kept for the uplink (broker reconnects, TLS), the radios, SQLite and D-Bus:
    # the page stops taking connections this far below the process's limit.
    fd_reserve: int = 128


class AcceptGate:
    """Decides at accept, before any byte is read, whether a connection may be served."""

    def __init__(self, limits: ConnectionLimits = ConnectionLimits(),
                 open_fds: Callable[[], int | None] = open_descriptors,
                 fd_limit: Callable[[], int] = descriptor_limit) -> None:
        self.limits = limits
        self._open_fds = open_fds
        self._fd_limit = fd_limit
        # peer -> sockets being served; a socket is closed (fileno -1) once its transport is done.
        self._live: dict[str, list[Any]] = {}

    def _prune(self) -> int:
        total = 0
        for peer in list(self._live):
            socks = [s for s in self._live[peer] if s.fileno() != -1]
            if socks:
                self._live[peer] = socks
                total += len(socks)
            else:
                del self._live[peer]
        return total

    def refusal(self, peer: str) -> str | None:
        """Why a connection from ``peer`` is refused now, or None to serve it."""
        if not is_lan_address(peer):
            return "not_lan"
        total = self._prune()
        if total >= self.limits.total:
            return "too_many_connections"
        if len(self._live.get(peer, ())) >= self.limits.per_peer:
            return "too_many_from_peer"
        fds = self._open_fds()
        if fds is not None and fds >= self._fd_limit() - self.limits.fd_reserve:
            return "descriptors_reserved"
        return None

    def admit(self, peer: str, sock: Any) -> None:
        self._live.setdefault(peer, []).append(sock)

    def live(self) -> int:
        return self._prune()


@dataclass
class _Stream:
    session: str
    queue: asyncio.Queue[dict[str, Any]]


CLOSE_STREAM: dict[str, Any] = {"kind": "_close"}  # put in a stream's queue to end it


@dataclass
class StreamSlots:
    """Live event streams (server-sent events): a few per login, a bounded number in all.

    A new stream beyond a session's share ends that session's oldest (a
    reloaded tab keeps working); beyond the total, new streams are refused.
    """

    per_session: int = 3
    total: int = 12
    _streams: list[_Stream] = field(default_factory=list)

    def open(self, session: str, queue: asyncio.Queue[dict[str, Any]]) -> bool:
        mine = [s for s in self._streams if s.session == session]
        if len(mine) >= self.per_session:
            oldest = mine[0]
            self._streams.remove(oldest)
            _end(oldest.queue)
        elif len(self._streams) >= self.total:
            return False
        self._streams.append(_Stream(session, queue))
        return True

    def close(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._streams = [s for s in self._streams if s.queue is not queue]

    def __len__(self) -> int:
        return len(self._streams)


def _end(queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        try:
            queue.put_nowait(CLOSE_STREAM)
            return
        except asyncio.QueueFull:
            queue.get_nowait()  # the stream is ending: what it had not sent yet does not matter


class RateLimit:
    """At most ``count`` uses within ``window_s`` (the page's "test connection")."""

    def __init__(self, count: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.window_s = window_s
        self.clock = clock
        self._times: deque[float] = deque()

    def retry_after(self) -> float:
        """0 and the use counted, or the seconds until one is allowed again."""
        now = self.clock()
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()
        if len(self._times) >= self.count:
            return self.window_s - (now - self._times[0])
        self._times.append(now)
        return 0.0
