"""The broker's side of the fleet simulation: a mosquitto sized for N hubs, and what it saw.

``carehub sim fleet`` runs the hubs themselves (the real uplink and outbox code,
``gateway/fleet.py``); this module gives them a broker that takes N connections
(the file descriptors raised to match), counts connections from the broker's
own ``$SYS`` tree, and turns time stamps into the figures of docs/benchmarks.md:
the busiest second's connection rate, lost and duplicated alerts.
"""

from __future__ import annotations

import contextlib
import itertools
import resource
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Mosquitto

# Each hub is one socket here and one in mosquitto, plus the platform and a margin.
FDS_PER_HUB = 2
FD_MARGIN = 512


def raise_fd_limit(hubs: int) -> int:
    """Raise this process's open-file limit (inherited by the broker it starts) as far as N hubs need.

    Returns the soft limit now in force; below what N hubs need, the caller should say so.
    """
    need = hubs * FDS_PER_HUB + FD_MARGIN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def fleet_broker() -> Mosquitto:
    """mosquitto on a free loopback port, as a platform's broker for a fleet should be set up.

    No connection limit; the broker's own counters once a second in ``$SYS``; and no
    cap on the messages queued for one client: with mosquitto's default of 1000 (EMQX's
    ``mqueue`` default is the same), a platform worker that falls behind while a whole
    fleet flushes its outboxes at once has the excess dropped by the broker, after the
    hubs were told (PUBACK) that it arrived. docs/fleet.md explains the sizing.
    """
    conf = ("listener {port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\nsys_interval 1\n"
            "max_queued_messages 0\nmax_inflight_messages 100\nset_tcp_nodelay true\n")
    return Mosquitto(conf=conf)


class BrokerConnections:
    """The broker's count of connected clients, once a second, from ``$SYS/broker/clients/connected``."""

    TOPIC = "$SYS/broker/clients/connected"

    def __init__(self, port: int) -> None:
        self.samples: list[tuple[float, int]] = []  # (monotonic time received, clients connected)
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-counter-{id(self)}")
        self._client.on_connect = lambda c, *_: c.subscribe(self.TOPIC, 0)
        self._client.on_message = self._message
        self._port = port

    def start(self) -> BrokerConnections:
        self._client.connect("127.0.0.1", self._port, keepalive=30)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._client.loop_stop()

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with contextlib.suppress(ValueError), self._lock:
            self.samples.append((time.monotonic(), int(msg.payload)))

    def latest(self) -> int:
        with self._lock:
            return self.samples[-1][1] if self.samples else -1

    def peak_rate(self, since: float) -> float:
        """The most connections gained between two consecutive samples after ``since``, per second."""
        with self._lock:
            # The broker publishes the count only when it changed: the last one before ``since`` is the
            # level the burst started from, however old it is.
            before = [s for s in self.samples if s[0] < since][-1:]
            samples = before + [s for s in self.samples if s[0] >= since]
        best = 0.0
        for (t0, n0), (t1, n1) in itertools.pairwise(samples):
            if n1 > n0 and t1 > t0:
                best = max(best, (n1 - n0) / min(max(t1 - t0, 1.0), max(t1 - since, 1.0)))
        return best


def peak_rate(times: Iterable[float], window_s: float = 1.0) -> int:
    """The most events in any ``window_s`` (sliding): connections in the busiest second."""
    ts = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ts):
        while t - ts[lo] >= window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def busiest_second(times: Iterable[float], window_s: float = 1.0) -> tuple[int, float]:
    """How many events the busiest ``window_s`` holds, and when it starts."""
    ts = sorted(times)
    best, at, lo = 0, 0.0, 0
    for hi, t in enumerate(ts):
        while t - ts[lo] >= window_s:
            lo += 1
        if hi - lo + 1 > best:
            best, at = hi - lo + 1, ts[lo]
    return best, at


def delivery(queued: Sequence[str], acked: Iterable[str], received: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Alerts lost (queued, never acknowledged) and duplicated (received more than once) by id.

    ``received`` is every alert message the platform took in after the restore. A copy with
    the same id is a duplicate by id; one with the same id, state and level is a true repeat.
    """
    queued_set = set(queued)
    by_id = Counter(m["id"] for m in received if m["id"] in queued_set)
    by_message = Counter((m["id"], m["state"], m["level"]) for m in received if m["id"] in queued_set)
    return {
        "queued": len(queued_set),
        "received": len(by_id),
        "acknowledged": len(queued_set & set(acked)),
        "lost": len(queued_set - set(acked)),
        "duplicates_by_id": sum(n - 1 for n in by_id.values()),
        "repeated_messages": sum(n - 1 for n in by_message.values()),
    }
