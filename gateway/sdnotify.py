"""systemd's notify protocol, written directly: a datagram to $NOTIFY_SOCKET.

No-op when not started by systemd (NOTIFY_SOCKET unset). The watchdog is pinged
from the event loop itself and only while the hub says it is healthy, so a
blocked loop or a dead critical task stops the pings and systemd restarts us.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

import structlog

log = structlog.get_logger("carehub.sdnotify")


class Notifier:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        self._addr: str | bytes | None = None
        if addr.startswith("@"):
            self._addr = b"\0" + addr[1:].encode()  # abstract namespace
        elif addr.startswith("/"):
            self._addr = addr
        self._sock: socket.socket | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        self._watchdog_s: float | None = None
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self._watchdog_s = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        return self._watchdog_s

    def notify(self, message: str) -> bool:
        if self._addr is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode(), self._addr)
            return True
        except OSError as exc:
            log.warning("sdnotify.failed", error=str(exc))
            return False

    def ready(self) -> None:
        self.notify("READY=1")

    def reloading(self) -> None:
        self.notify("RELOADING=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def status(self, text: str) -> None:
        self.notify("STATUS=" + text.replace("\n", " ")[:200])

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")


async def watchdog_loop(notifier: Notifier, is_healthy: Callable[[], bool]) -> None:
    """Ping at half the watchdog interval, only while ``is_healthy()``; idle when no watchdog."""
    interval = notifier.watchdog_interval_s
    if interval is None:
        await asyncio.Event().wait()  # nothing asked for pings; stay alive as a task
        return
    unhealthy_logged = False
    while True:
        if is_healthy():
            notifier.watchdog()
            unhealthy_logged = False
        elif not unhealthy_logged:
            log.error("sdnotify.unhealthy", detail="a critical task has stopped; withholding watchdog pings")
            unhealthy_logged = True
        await asyncio.sleep(interval / 2)
