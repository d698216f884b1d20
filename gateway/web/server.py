"""Serving the technician's page from inside the hub's event loop."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from gateway.web.app import COUNTERS, CREDENTIALS, LOG_ONCE, make_app, web_counters
from gateway.web.limits import AcceptGate, install_accept_flood_filter
from gateway.web.listener import GuardedSite

if TYPE_CHECKING:
    from gateway.daemon import Hub

log = structlog.get_logger("carehub.web")

BIND_RETRY_S = 30.0
# A connection must send a whole request head within this time of opening, or of its last
# answer; otherwise it is closed. Idle sockets once held every descriptor the hub had.
HEADER_TIMEOUT_S = 10.0


async def serve(hub: Hub) -> None:
    """Run the page until cancelled. A port in use raises, and the hub's guard retries later."""
    cfg = hub.config.web
    app = make_app(hub)
    hub.web_counters = lambda: web_counters(app)
    install_accept_flood_filter()
    ssl_ctx = None
    if cfg.https:
        from gateway.web.certs import ssl_context

        ssl_ctx, fingerprint = await asyncio.to_thread(ssl_context, hub.state_dir)
        log.info("web.certificate", sha256=fingerprint)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, keepalive_timeout=HEADER_TIMEOUT_S)
    await runner.setup()
    try:
        # "lan": every interface (IPv4 and IPv6); the page itself answers only LAN peers.
        host = None if cfg.bind == "lan" else cfg.bind
        site = GuardedSite(runner, host, cfg.port, gate=AcceptGate(), counters=app[COUNTERS],
                           log_once=app[LOG_ONCE], ssl_context=ssl_ctx)
        while True:
            try:
                await site.start()
                break
            except OSError as exc:
                # Port taken or address gone (Wi-Fi not up yet): say so plainly and keep trying;
                # monitoring does not depend on the page.
                log.error("web.bind_failed", bind=cfg.bind, port=cfg.port, error=str(exc), retry_s=BIND_RETRY_S)
                await asyncio.sleep(BIND_RETRY_S)
        scheme = "https" if cfg.https else "http"
        shown = socket.gethostname() + ".local" if host is None else (f"[{host}]" if ":" in host else host)
        url = f"{scheme}://{shown}:{cfg.port}/"
        log.info("web.listening", url=url, bind=cfg.bind)
        code = await asyncio.to_thread(app[CREDENTIALS].ensure_setup_code)
        if code is not None:
            # No password yet. The code itself stays out of the journal (anyone in group adm or
            # systemd-journal reads that): the log says where to get it.
            log.warning("web.setup_code", url=url + "setup", hint="run: sudo carehub setup-code")
            if sys.stderr.isatty():  # someone at a terminal started the hub by hand
                print(f"\ncarehub: technician page setup code: {code}\n", file=sys.stderr)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
