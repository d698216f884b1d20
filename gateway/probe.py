""""Test connection": connect to a broker with given settings and say what happened, and nothing more."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any

from gateway.config.schema import PlatformConfig
from gateway.mqtt_client import make_client

PROBE_NO_CONNECT = "could not connect"


async def probe_broker(platform: PlatformConfig, timeout_s: float = 5.0) -> tuple[bool, str]:
    """Connect to a broker with these settings and say what happened (for "test connection").

    Every failure before the MQTT handshake (refused, unreachable, silent, not TLS, not
    MQTT) is the same answer after the same time: the page must not become a port scanner
    of the home's network. Only a broker's own CONNACK refusal is reported as such.
    """
    loop = asyncio.get_running_loop()
    result: asyncio.Future[tuple[bool, str]] = loop.create_future()
    deadline = loop.time() + timeout_s

    def done(ok: bool, text: str) -> None:
        if not result.done():
            result.set_result((ok, text))

    try:
        client = make_client(replace(platform, reconnect_max_s=max(platform.reconnect_min_s, 1.0)),
                             f"carehub-probe-{os.getpid()}")
    except (OSError, ValueError) as exc:
        return False, f"TLS settings: {exc}"  # the hub's own files, before any connection
    def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        loop.call_soon_threadsafe(done, not rc.is_failure, "connected" if not rc.is_failure else f"refused: {rc}")

    def on_connect_fail(c: Any, u: Any) -> None:  # nothing listening, or no route
        loop.call_soon_threadsafe(done, False, PROBE_NO_CONNECT)

    client.on_connect = on_connect
    client.on_connect_fail = on_connect_fail
    try:
        client.connect_async(platform.host, platform.port, keepalive=10)
        client.loop_start()
        async with asyncio.timeout(timeout_s):
            ok, text = await result
    except (TimeoutError, OSError):
        ok, text = False, PROBE_NO_CONNECT
    finally:
        client.disconnect()
        client.loop_stop()
    if text == PROBE_NO_CONNECT:
        await asyncio.sleep(max(0.0, deadline - loop.time()))  # a closed port answers as late as a silent one
    return ok, text
