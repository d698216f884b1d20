"""What the page may take from the hub (issue 11, items 6-8 and the log floods of 10).

Connections are gated at accept (LAN only, caps per peer and in all, descriptors
kept for the uplink), live streams are capped per login and in all, "test
connection" keeps the saved password for the saved broker and is no port
scanner, /lang goes only to the page's own paths, and a flood of bad requests
is one log line per interval.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from gateway.config.schema import PlatformConfig
from gateway.probe import PROBE_NO_CONNECT, probe_broker
from gateway.web import listener
from gateway.web.app import COUNTERS, PROBES_PER_MIN, STREAMS, make_app
from gateway.web.limits import (
    SELECT_LIMIT,
    AcceptFloodFilter,
    AcceptGate,
    ConnectionLimits,
    LogOnce,
    StreamSlots,
    descriptor_limit,
)
from gateway.web.listener import GuardedSite
from tests.unit.fake_hub import FakeHub
from tests.unit.test_web import PASSWORD, Page, make_fake_hub

# --- connections at accept ----------------------------------------------------------------------


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(2.0)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionResetError:  # reset so fast that connect() saw it
        s.close()
    return s


def _was_refused(s: socket.socket) -> bool:
    """True when the hub closed this connection at once without an answer."""
    if s.fileno() == -1:
        return True
    s.settimeout(1.0)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _get(s: socket.socket) -> bytes:
    s.sendall(b"GET /setup HTTP/1.1\r\nHost: localhost\r\n\r\n")
    s.settimeout(5.0)
    return s.recv(200)


async def _site(tmp_path: Path, limits: ConnectionLimits, **gate: Any) -> tuple[web.AppRunner, GuardedSite,
                                                                                 Counter[str]]:
    app = make_app(make_fake_hub(tmp_path))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    counters: Counter[str] = Counter()
    site = GuardedSite(runner, "127.0.0.1", 0, gate=AcceptGate(limits, **gate), counters=counters,
                       log_once=LogOnce(structlog.get_logger("test")))
    await site.start()
    return runner, site, counters


async def test_connections_beyond_the_caps_are_refused_at_accept(tmp_path: Path) -> None:
    runner, site, counters = await _site(tmp_path, ConnectionLimits(total=6, per_peer=4, fd_reserve=0))
    port = site.ports[0]
    try:
        mine = [await asyncio.to_thread(_connect, port) for _ in range(4)]
        await asyncio.sleep(0.1)
        extra = await asyncio.to_thread(_connect, port)
        assert await asyncio.to_thread(_was_refused, extra), "a fifth connection from one peer"
        # Another peer still gets in, up to the total.
        other = [await asyncio.to_thread(_connect, port, "127.0.0.2") for _ in range(2)]
        await asyncio.sleep(0.1)
        over = await asyncio.to_thread(_connect, port, "127.0.0.3")
        assert await asyncio.to_thread(_was_refused, over), "the seventh connection in all"
        assert (await asyncio.to_thread(_get, mine[0])).startswith(b"HTTP/1.1 200")
        assert not await asyncio.to_thread(_was_refused, other[0])
        # A closed connection frees its place.
        mine[1].close()
        await asyncio.sleep(0.2)
        again = await asyncio.to_thread(_connect, port)
        assert (await asyncio.to_thread(_get, again)).startswith(b"HTTP/1.1 200")
        assert counters["refused_too_many_from_peer"] == 1 and counters["refused_too_many_connections"] == 1
        for s in [*mine, *other, extra, over, again]:
            s.close()
    finally:
        await runner.cleanup()


async def test_connections_stop_before_the_descriptors_kept_for_the_uplink(tmp_path: Path) -> None:
    open_fds = [100]
    runner, site, counters = await _site(tmp_path, ConnectionLimits(fd_reserve=128),
                                         open_fds=lambda: open_fds[0], fd_limit=lambda: 1024)
    try:
        s = await asyncio.to_thread(_connect, site.ports[0])
        assert (await asyncio.to_thread(_get, s)).startswith(b"HTTP/1.1 200")
        open_fds[0] = 1024 - 128
        refused = await asyncio.to_thread(_connect, site.ports[0])
        assert await asyncio.to_thread(_was_refused, refused)
        assert counters["refused_descriptors_reserved"] == 1
        s.close()
        refused.close()
    finally:
        await runner.cleanup()


def test_the_gate_refuses_public_peers_and_counts_below_select_s_limit() -> None:
    gate = AcceptGate(ConnectionLimits(), open_fds=lambda: 3, fd_limit=lambda: 1024)
    assert gate.refusal("8.8.8.8") == "not_lan"
    assert gate.refusal("2001:4860::8888") == "not_lan"
    assert gate.refusal("192.168.1.9") is None and gate.refusal("fe80::1") is None
    # However high LimitNOFILE is, paho's select() cannot watch descriptors from 1024 up.
    assert descriptor_limit() <= SELECT_LIMIT == 1024


async def test_running_out_of_descriptors_at_accept_is_waited_out_and_logged_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener, "ACCEPT_RETRY_S", 0.001)
    loop = asyncio.get_running_loop()
    failures = 0

    async def no_descriptors(sock: socket.socket) -> Any:
        nonlocal failures
        failures += 1
        raise OSError(errno.EMFILE, "Too many open files")

    with structlog.testing.capture_logs() as logs:
        runner, site, counters = await _site(tmp_path, ConnectionLimits())
        monkeypatch.setattr(loop, "sock_accept", no_descriptors)
        s = await asyncio.to_thread(_connect, site.ports[0])  # wakes the accept loop
        await asyncio.sleep(0.3)
        monkeypatch.undo()
        await runner.cleanup()
        s.close()
    assert failures > 20 and counters["accept_no_descriptors"] == failures
    lines = [e for e in logs if e["event"] == "web.accept_no_descriptors"]
    assert len(lines) == 1, lines


def test_asyncio_s_accept_flood_is_one_line_per_interval() -> None:
    now = [0.0]
    f = AcceptFloodFilter(interval_s=60, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                                 "socket.accept() out of system resource\nsocket: <...>", None, None)

    passed = [f.filter(record()) for _ in range(227_000 // 100)]
    assert passed.count(True) == 1
    now[0] = 61.0
    r = record()
    assert f.filter(r) and "count: 2271" in r.getMessage()
    other = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "Task exception was never retrieved", None,
                              None)
    assert f.filter(other), "only that line is thinned"


# --- live event streams ---------------------------------------------------------------------------


async def test_live_streams_are_capped_per_login_and_in_all(tech: Page[FakeHub]) -> None:
    app = tech.client.app
    assert app is not None
    slots: StreamSlots = app[STREAMS]
    slots.per_session, slots.total = 2, 3
    streams = []
    for _ in range(2):
        r = await tech.client.get("/events")
        assert (await r.content.readline()).startswith(b": hello")
        streams.append(r)
    # A third from the same login ends its oldest stream: a reloaded tab keeps working.
    third = await tech.client.get("/events")
    assert (await third.content.readline()).startswith(b": hello")
    assert await asyncio.wait_for(streams[0].content.read(), 2) == b"\n", "the oldest stream ended"
    assert len(slots) == 2
    # Another login takes the last place; beyond the total, new streams are refused.
    other = Page(tech.client, tech.hub, tech.tmp)
    jar = tech.client.session.cookie_jar
    jar.clear()
    await other.get("/login")
    await other.post("/login", {"password": PASSWORD})
    r = await tech.client.get("/events")
    assert (await r.content.readline()).startswith(b": hello")
    refused = await tech.client.get("/events")
    assert refused.status == 503 and refused.headers["Retry-After"]
    assert app[COUNTERS]["streams_refused"] == 1
    for s in [*streams, third, r]:
        s.close()


# --- test connection -------------------------------------------------------------------------------


async def _save_platform(tech: Page[FakeHub], port: int) -> dict[str, str]:
    form = {"site.id": "test-site", "platform.host": "127.0.0.1", "platform.port": str(port),
            "platform.protocol": "5", "platform.base_topic": "carehub/v1", "platform.username": "hub",
            "platform.password": "s3cret-pass", "_bool": "platform.tls", "action": "save"}
    await tech.get("/platform")
    status, _ = await tech.post("/platform", form)
    assert status == 200 and tech.hub.config.platform.password == "s3cret-pass"
    return form


async def test_test_connection_sends_the_saved_password_only_to_the_saved_broker(tech: Page[FakeHub]) -> None:
    tried: list[PlatformConfig] = tech.hub.probed  # every probe the page asked the hub for
    tech.hub.probe_answer = (False, PROBE_NO_CONNECT)
    form = await _save_platform(tech, 1883)
    kept = {**form, "platform.password": "", "action": "test"}
    for changed in ({"platform.host": "192.168.1.66"}, {"platform.port": "1884"}, {"platform.tls": "on"}):
        status, text = await tech.post("/platform", {**kept, **changed})
        assert status == 400 and "type the broker password again" in text, changed
    assert tried == [], "nothing was sent anywhere"
    status, text = await tech.post("/platform", kept)  # the saved broker: its saved password
    assert status == 200 and tried[-1].password == "s3cret-pass" and tried[-1].host == "127.0.0.1"
    assert "Connection failed: could not connect" in text
    status, _ = await tech.post("/platform", {**kept, "platform.host": "192.168.1.66",
                                              "platform.password": "typed-again"})
    assert status == 200 and tried[-1].password == "typed-again" and tried[-1].host == "192.168.1.66"


async def test_test_connection_is_rate_limited(tech: Page[FakeHub]) -> None:
    tech.hub.probe_answer = (True, "connected")
    form = await _save_platform(tech, 1883)
    for _ in range(PROBES_PER_MIN):
        status, _ = await tech.post("/platform", {**form, "action": "test"})
        assert status == 200
    r = await tech.client.post("/platform", data={**form, "action": "test", "csrf": tech.csrf})
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many connection tests" in await r.text()
    assert len(tech.hub.probed) == PROBES_PER_MIN, "the refused test reached no broker"


async def test_a_failed_test_connection_does_not_tell_closed_from_open_ports(unused_tcp_port: int) -> None:
    """A closed port, a port that accepts and stays silent, and one that speaks something else:
    the same answer after the same time."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        writer.close()

    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()
        await reader.read(1000)
        writer.close()

    servers = [await asyncio.start_server(h, "127.0.0.1", 0) for h in (silent, chatty)]
    ports = [unused_tcp_port] + [s.sockets[0].getsockname()[1] for s in servers]
    answers = []
    for port in ports:
        started = time.monotonic()
        ok, text = await probe_broker(PlatformConfig(host="127.0.0.1", port=port), timeout_s=1.5)
        answers.append((ok, text, time.monotonic() - started >= 1.45))
    for s in servers:
        s.close()
    assert answers == [(False, PROBE_NO_CONNECT, True)] * 3


# --- redirects -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/%09/evil.com", "/\t/evil.com", "//evil.com", "/\\evil.com",
                                    "https://evil.com", "/%2F/evil.com", "/status/../..//evil.com", "/\r\n/x",
                                    "/settings?next=//evil.com", "javascript:alert(1)", ""])
async def test_lang_goes_back_only_to_the_page_s_own_paths(tech: Page[FakeHub], target: str) -> None:
    r = await tech.client.get(f"/lang?to=zh&next={target}", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/status", target


async def test_lang_returns_to_the_page_it_came_from(tech: Page[FakeHub]) -> None:
    for path in ("/settings", "/devices/learn", "/platform", "/login", "/audit"):
        r = await tech.client.get("/lang", params={"to": "en", "next": path}, allow_redirects=False)
        assert r.headers["Location"] == path


# --- log floods ------------------------------------------------------------------------------------------


async def test_refused_peers_and_bad_host_names_are_counted_and_logged_once(tech: Page[FakeHub]) -> None:
    app = tech.client.app
    assert app is not None
    with structlog.testing.capture_logs() as logs:
        for i in range(200):
            r = await tech.client.get("/status", headers={"Host": f"evil{i}.example.com"})
            assert r.status == 421
    assert app[COUNTERS]["refused_host"] == 200
    assert [e["event"] for e in logs].count("web.refused_host") == 1


def test_log_once_reports_what_it_did_not_log() -> None:
    now = [0.0]
    with structlog.testing.capture_logs() as logs:
        once = LogOnce(structlog.get_logger("t"), interval_s=60, clock=lambda: now[0])
        for _ in range(500):
            once.warning("web.refused_peer", peer="8.8.8.8")
        now[0] = 60.0
        once.warning("web.refused_peer", peer="8.8.8.8")
    assert [(e["count"], e["suppressed"]) for e in logs] == [(1, 0), (501, 499)]


async def test_a_flood_of_forged_or_locked_out_logins_is_counted_and_logged_once(tech: Page[FakeHub]) -> None:
    app = tech.client.app
    assert app is not None
    await tech.post("/logout")
    await tech.get("/login")
    with structlog.testing.capture_logs() as logs:
        for _ in range(100):  # no CSRF cookie: forged from another site, or a script
            r = await tech.client.post("/login", data={"password": "x"}, cookies={"carehub_pre": ""})
            assert r.status == 403
        for _ in range(5):
            await tech.post("/login", {"password": "wrong guess"})
        for _ in range(100):
            status, _ = await tech.post("/login", {"password": "wrong guess"})
            assert status == 429
    events = [e["event"] for e in logs]
    assert app[COUNTERS]["csrf_refused"] >= 100 and app[COUNTERS]["login_refused"] >= 100
    assert events.count("web.csrf_refused") == 1 and events.count("web.login_locked") == 1
