"""The page's listening sockets, with the gate applied at accept.

aiohttp's own sites hand every accepted socket to a request handler, and
asyncio's accept loop, when the process runs out of descriptors, retries and
logs the failure many thousand times a second. Here the hub accepts itself:
a peer that is not on the LAN, a peer over its share, or any connection that
would eat into the descriptors kept for the uplink and radios is closed at
once (a reset, no bytes read); running out of descriptors is counted, logged
once per interval, and waited out. Admitted sockets are handed to aiohttp
through ``loop.connect_accepted_socket``, with a time limit on the TLS
handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
from collections import Counter
from typing import Any

import structlog
from aiohttp import web

from gateway.web.limits import AcceptGate, LogOnce

log = structlog.get_logger("carehub.web")

TLS_HANDSHAKE_S = 10.0
OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
ACCEPT_RETRY_S = 0.5


def listening_sockets(host: str | None, port: int, backlog: int = 64) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets: ``None`` means every IPv4 and IPv6 interface."""
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _name, addr in dict.fromkeys(infos):
            try:
                s = socket.socket(family, kind, proto)
            except OSError:  # no IPv6 on this hub
                if host is None:
                    continue
                raise
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # the IPv4 socket takes IPv4
            s.bind(addr)
            s.listen(backlog)
            s.setblocking(False)
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def _reset(sock: socket.socket) -> None:
    """Close with a reset: no TIME_WAIT, nothing kept in the kernel for a refused peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class GuardedSite(web.BaseSite):
    """Serves ``runner``'s application on ``host``:``port`` through an :class:`AcceptGate`."""

    __slots__ = ("_counters", "_gate", "_host", "_log", "_port", "_socks", "_tasks")

    def __init__(self, runner: web.BaseRunner, host: str | None, port: int, *, gate: AcceptGate,
                 counters: Counter[str], log_once: LogOnce, ssl_context: Any = None) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = host
        self._port = port
        self._gate = gate
        self._counters = counters
        self._log = log_once
        self._socks: list[socket.socket] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host or '*'}:{self._port}"

    @property
    def ports(self) -> list[int]:
        return [s.getsockname()[1] for s in self._socks]

    async def start(self) -> None:
        await super().start()
        try:
            self._socks = listening_sockets(self._host, self._port)
        except OSError:
            self._runner._unreg_site(self)
            raise
        for s in self._socks:
            self._spawn(self._accept_loop(s))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for s in self._socks:
            s.close()
        self._socks = []
        self._runner._unreg_site(self)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, addr = await loop.sock_accept(listener)
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):  # the peer gave up before accept
                    continue
                # Out of descriptors (or anything else the kernel says): wait and try again, never a
                # busy loop, never a line per attempt, and the page keeps listening.
                kind = "accept_no_descriptors" if exc.errno in OUT_OF_DESCRIPTORS else "accept_failed"
                self._counters[kind] += 1
                self._log.warning(f"web.{kind}", error=exc.strerror, retry_s=ACCEPT_RETRY_S)
                await asyncio.sleep(ACCEPT_RETRY_S)
                continue
            peer = str(addr[0])
            reason = self._gate.refusal(peer)
            if reason is not None:
                _reset(sock)
                self._counters[f"refused_{reason}"] += 1
                self._log.warning(f"web.refused_{reason}", peer=peer)
                continue
            self._gate.admit(peer, sock)
            self._spawn(self._serve(sock))

    async def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        try:
            await loop.connect_accepted_socket(
                server, sock, ssl=self._ssl_context,
                ssl_handshake_timeout=TLS_HANDSHAKE_S if self._ssl_context else None,
            )
        except (OSError, TimeoutError, ConnectionError) as exc:
            # A failed or abandoned TLS handshake (plain HTTP on the HTTPS port, a scanner).
            self._counters["tls_handshake_failed"] += 1
            self._log.warning("web.tls_handshake_failed", error=str(exc)[:100])
            sock.close()
