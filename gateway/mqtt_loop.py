"""paho-mqtt driven from the asyncio event loop instead of paho's own network thread.

With paho's thread, an alert committed on the loop crossed to that thread before it
was written to the socket, and that hop was most of the hub's help-call latency
(docs/benchmarks.md). Here the socket is watched by the loop itself (paho's
``examples/loop_asyncio.py`` pattern: ``loop_read`` when readable, ``loop_write``
when writable, ``loop_misc`` every second for keepalive), and no write callback is
registered, so ``publish()`` called on the loop writes the PUBLISH to the socket in
the same turn as the commit that queued it.

Connecting (DNS, TCP, the TLS handshake) blocks in paho, so it runs in a worker
thread; everything after it runs on the loop. Reconnection is ours: exponential
backoff with full jitter between ``reconnect_min_s`` and a ceiling that doubles
before each wait (2, 4, 8 ... times the floor) and stops at ``reconnect_max_s``,
reset by a connection that the broker accepted, so that a thousand hubs that lost
one broker at the same instant do not knock again in step: not even the first
retry is at the same instant for all of them. (Their first connection after a
boot is spread by ``gateway/boot_spread.py``.)

A clustered broker bans a client that connects too often (EMQX's flapping detection:
by default 15 connections of one client id within a minute ban it for 5 minutes), and
a broker that accepts the hub and then drops it at once (a duplicate client id, an ACL
that kicks) would make a hub flap. So the backoff starts afresh only after a
connection that lasted ``STABLE_S``, and whatever the draws, no more than
``ATTEMPTS_PER_MINUTE`` connection attempts are made in any 60 s (docs/fleet.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import structlog

log = structlog.get_logger("carehub.uplink")

MISC_PERIOD_S = 1.0
CONNECT_FAIL_LOG_S = 60.0  # a broker that stays away is said once a minute, not once a retry
STABLE_S = 30.0  # a connection that lasted this long resets the backoff; a shorter one does not
ATTEMPTS_PER_MINUTE = 10  # under EMQX's default flapping limit (15 a minute) with room to spare


class AttemptBudget:
    """At most ``limit`` connection attempts in any ``per_s`` seconds (pure: the clock is given)."""

    def __init__(self, limit: int = ATTEMPTS_PER_MINUTE, per_s: float = 60.0) -> None:
        self.limit = limit
        self.per_s = per_s
        self._attempts: deque[float] = deque(maxlen=limit)

    def wait_s(self, now: float) -> float:
        if len(self._attempts) < self.limit:
            return 0.0
        return max(0.0, self._attempts[0] + self.per_s - now)

    def record(self, now: float) -> None:
        self._attempts.append(now)


class LoopDriver:
    def __init__(self, client: mqtt.Client, *, min_delay_s: float, max_delay_s: float,
                 describe: Callable[[], str], rng: random.Random | None = None, jitter: bool = True) -> None:
        self.client = client
        self._min = min_delay_s
        self._max = max(max_delay_s, min_delay_s)
        self._describe = describe
        self._rng = rng or random.Random()
        self._jitter = jitter  # False only to show what jitter is for (the fleet simulation)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._sock: Any = None
        self._gone = asyncio.Event()
        self._stopping = False
        self._delay = min_delay_s
        self._accepted_at: float | None = None
        self.budget = AttemptBudget()
        self._last_fail_log = -1e9
        self.connect_failures = 0
        self.throttled = 0  # attempts held back by the budget
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed

    def accepted(self) -> None:
        """The broker accepted the connection (CONNACK success); once it has lasted ``STABLE_S``
        the backoff starts afresh."""
        self._accepted_at = time.monotonic()

    def _lost(self) -> None:
        if self._accepted_at is not None and time.monotonic() - self._accepted_at >= STABLE_S:
            self._delay = self._min
        self._accepted_at = None

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        while not self._stopping:
            self._gone.clear()
            wait = self.budget.wait_s(time.monotonic())
            if wait > 0:
                self.throttled += 1
                await asyncio.sleep(wait)
                if self._stopping:
                    return
            self.budget.record(time.monotonic())
            try:
                await asyncio.to_thread(self.client.reconnect)
            except (OSError, ssl.SSLError, ValueError) as exc:  # refused, unreachable, DNS, TLS
                self._connect_failed(exc)
            else:
                if self._stopping:  # stopped while the connection was being made
                    self._close_now()
                    return
                misc = asyncio.create_task(self._misc())
                try:
                    await self._gone.wait()
                finally:
                    misc.cancel()
                self._lost()
            if self._stopping:
                return
            self._delay = min(self._delay * 2, self._max)
            await asyncio.sleep(self._rng.uniform(self._min, self._delay) if self._jitter else self._delay)

    def flush(self) -> None:
        """Write what paho could not write at once (a full socket buffer, or packets queued in a callback)."""
        if self._sock is not None and self._loop is not None and self.client.want_write():
            self._loop.add_writer(self._sock, self._writable)

    def stop(self) -> None:
        """No more reconnecting; the caller disconnects the client."""
        self._stopping = True
        self._gone.set()

    def cut_power(self) -> None:
        """Lose the connection as a power cut does: no DISCONNECT, so the broker publishes the last will.

        For the fleet simulation, where hubs that share one process lose their power at once.
        """
        self._stopping = True
        sock = self._sock
        if sock is not None:
            self._unwatch(sock)
            with contextlib.suppress(OSError):
                sock.close()
        self._gone.set()

    # --- socket readiness, on the loop --------------------------------------------------------

    def _readable(self) -> None:
        self.client.loop_read()
        self.flush()

    def _writable(self) -> None:
        self.client.loop_write()
        if not self.client.want_write() and self._sock is not None and self._loop is not None:
            self._loop.remove_writer(self._sock)

    async def _misc(self) -> None:
        while True:
            await asyncio.sleep(MISC_PERIOD_S)
            self.client.loop_misc()
            self.flush()

    # --- paho's socket callbacks (open: from the connecting thread; close: from the loop) ----

    def _opened(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # paho leaves Nagle's algorithm on: an alert written just after a small
        # PUBACK would then wait for the broker's delayed ACK (~40 ms).
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._watch, sock)

    def _watch(self, sock: Any) -> None:
        if self._stopping:  # a connect that finished after stop(): not ours to keep
            self._close_now()
            return
        if self.client.socket() is not sock:
            self._gone.set()  # closed again before the loop got to it
            return
        self._sock = sock
        assert self._loop is not None and sock is not None
        self._loop.add_reader(sock, self._readable)
        self.flush()

    def _closed(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._loop is None or self._loop.is_closed():  # a client collected after its loop ended
            return
        if threading.get_ident() == self._loop_thread:
            self._unwatch(sock)
        else:
            self._loop.call_soon_threadsafe(self._unwatch, sock)

    def _unwatch(self, sock: Any) -> None:
        if self._sock is not sock:
            return  # never watched: _watch sees it gone and says so
        assert self._loop is not None
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        self._sock = None
        self._gone.set()

    def _close_now(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()

    def _connect_failed(self, exc: BaseException) -> None:
        self.connect_failures += 1
        now = time.monotonic()
        if now - self._last_fail_log >= CONNECT_FAIL_LOG_S:
            self._last_fail_log = now
            log.warning("uplink.connect_failed", broker=self._describe(), error=str(exc)[:200],
                        failures=self.connect_failures)
