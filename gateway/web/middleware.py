"""The middlewares, in order: answer only LAN peers and known host names (a public address, or
DNS rebinding from a web site the resident visits, gets nothing), add security headers, send
anyone without a session to the setup or login page, and refuse any change without the session's
CSRF token."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.config.validation import is_lan_address
from gateway.web.core import (
    COUNTERS,
    CREDENTIALS,
    CSP,
    HOSTNAME,
    LOCAL_SUFFIXES,
    LOG_ONCE,
    PUBLIC_PATHS,
    SECURE,
    _plain,
    _session,
)
from gateway.web.security import Credentials

log = structlog.get_logger("carehub.web")


def _host_allowed(host: str, hostname: str) -> bool:
    """Host header check against DNS rebinding: addresses, local names, this hub's name."""
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.lower().rstrip(".")
    if not host:
        return False
    if is_lan_address(host):
        return True
    return "." not in host or host.endswith(LOCAL_SUFFIXES) or host in (hostname, f"{hostname}.local")


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> web.StreamResponse:
    counters: Counter[str] = request.app[COUNTERS]
    peer = request.remote or ""
    if not is_lan_address(peer):  # the listener refuses these at accept; this covers any other way in
        counters["refused_peer"] += 1
        request.app[LOG_ONCE].warning("web.refused_peer", peer=peer)
        return web.Response(status=403, text=_plain(request, "http.not_lan"))
    if not _host_allowed(request.host, request.app[HOSTNAME]):
        counters["refused_host"] += 1
        request.app[LOG_ONCE].warning("web.refused_host", host=request.host[:100], peer=peer)
        return web.Response(status=421, text=_plain(request, "http.bad_host"))
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            counters[f"http_{exc.status}"] += 1
            if exc.status == 413:
                request.app[LOG_ONCE].warning("web.too_large", path=request.path, peer=peer)
        _harden(exc, request.app[SECURE])
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        counters["errors"] += 1
        log.exception("web.handler_failed", path=request.path)
        response = web.Response(status=500, text=_plain(request, "http.error"))
    _harden(response, request.app[SECURE])
    return response


def _harden(response: web.StreamResponse, https: bool) -> None:
    if response.prepared:  # the live event stream set its own headers
        return
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cache-Control", "no-store")
    if https:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def authenticate(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
    creds: Credentials = request.app[CREDENTIALS]
    session = _session(request)
    public = request.path in PUBLIC_PATHS or request.path.startswith("/static/")
    if session is None and not public:
        # A page or a form posted after the login expired: to the login page. Scripts get a 401.
        if not request.path.startswith(("/api/", "/events")):
            raise web.HTTPSeeOther("/login" if creds.password_set() else "/setup")
        raise web.HTTPUnauthorized(text=_plain(request, "http.login_first"))
    if request.method == "POST" and not public:
        token = request.headers.get("X-CSRF-Token")
        if token is None:
            token = str((await request.post()).get("csrf", ""))
        assert session is not None
        if not secrets.compare_digest(token.encode(), session.csrf.encode()):
            request.app[COUNTERS]["csrf_refused"] += 1
            request.app[LOG_ONCE].warning("web.csrf_refused", path=request.path, peer=request.remote)
            raise web.HTTPForbidden(text=_plain(request, "http.expired"))
    return await handler(request)
