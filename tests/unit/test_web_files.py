"""Logins, files and logs of the page (issue 11, item 10).

Sessions end after a maximum lifetime however busy; a lockout caused by many LAN
addresses leaves the hub's own console (loopback) able to log in; uploaded
certificates replace the ones in use only when the whole platform setting is
valid, and a removed key leaves the disk; the audit log is bounded, rotated and
read off the event loop; the database and its WAL are private whatever the umask;
a stream of malformed RFLink lines is one warning per interval.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from detection.events import Stamp
from drivers.rflink import RflinkDriver
from gateway.store import Store
from gateway.web import audit
from gateway.web.audit import AuditLog
from gateway.web.security import MAX_SESSION_S, LoginLimiter, Sessions
from tests.unit.fake_hub import FakeHub
from tests.unit.test_web import Page, _pem_pair

# --- logins --------------------------------------------------------------------------------------


def test_a_session_ends_after_its_maximum_lifetime_however_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("gateway.web.security.time.monotonic", lambda: now[0])
    s = Sessions(idle_s=3600)
    session = s.create("192.168.1.5", "hash")
    while now[0] < 1000.0 + MAX_SESSION_S - 1800:  # used every 30 minutes, never idle
        now[0] += 1800
        assert s.get(session.token, "hash") is session
    now[0] += 1801
    assert s.get(session.token, "hash") is None
    assert 8 * 3600 <= MAX_SESSION_S <= 12 * 3600


def test_a_lockout_from_many_lan_addresses_leaves_the_console_a_way_in() -> None:
    lim = LoginLimiter()
    for i in range(LoginLimiter.GLOBAL):
        lim.failed(f"192.168.1.{i + 10}", now=0)
    assert lim.retry_after("192.168.1.200", now=1) > 0, "a LAN attacker changing address still waits"
    for peer in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert lim.retry_after(peer, now=1) == 0, peer
    # Failures on the console count for the console only: a local process cannot lock the LAN out.
    fresh = LoginLimiter()
    for _ in range(LoginLimiter.GLOBAL):
        fresh.failed("127.0.0.1", now=0)
    assert fresh.retry_after("192.168.1.7", now=1) == 0
    assert fresh.retry_after("127.0.0.1", now=1) > 0


async def test_the_right_password_from_the_console_works_during_a_lan_wide_lockout(tech: Page[FakeHub]) -> None:
    app = tech.client.app
    assert app is not None
    from gateway.web.app import LIMITER

    for i in range(LoginLimiter.GLOBAL):
        app[LIMITER].failed(f"10.0.0.{i + 1}")
    await tech.post("/logout")
    await tech.get("/login")
    status, text = await tech.post("/login", {"password": "correct horse battery"})
    assert status == 200 and "Hub status" in text


# --- certificates ------------------------------------------------------------------------------------


async def _upload(tech: Page[FakeHub], **files: bytes | str) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf", tech.csrf)
    for name, content in files.items():
        if isinstance(content, str):
            form.add_field(name, content)
        else:
            form.add_field(name, content, filename=name + ".pem", content_type="application/x-pem-file")
    r = await tech.client.post("/platform/certificates", data=form)
    return r.status, await r.text()


def _read(path: str) -> bytes | None:
    return Path(path).read_bytes() if Path(path).exists() else None


def _stored(tech: Page[FakeHub]) -> dict[str, bytes]:
    d = tech.state / "platform-certs"
    return {f.name: f.read_bytes() for f in sorted(d.iterdir())} if d.exists() else {}


async def test_uploads_change_nothing_until_the_whole_setting_is_valid_and_removal_deletes(
        tech: Page[FakeHub], tmp_path: Path) -> None:
    cert, key, _ = _pem_pair(tmp_path / "pki")
    other_cert, other_key, _ = _pem_pair(tmp_path / "pki2")
    await tech.get("/platform")
    status, _ = await _upload(tech, cert_file=cert)  # a client certificate without its key
    assert status == 400 and _stored(tech) == {}, "nothing written for a refused upload"
    status, text = await _upload(tech, ca_file=cert, cert_file=cert, key_file=key)
    assert status == 200, text
    before = _stored(tech)
    p = tech.hub.config.platform
    assert {_read(p.ca_file), _read(p.key_file)} == {cert, key}
    # A new key without its certificate being valid with it... and a refused change: what is in use stays.
    status, _ = await _upload(tech, key_file=other_key, remove_cert_file="on")
    assert status == 400
    assert _stored(tech) == before and tech.hub.config.platform.key_file == p.key_file
    assert _read(p.key_file) == key
    # Replacing both: the new files are used, the old versions leave the disk.
    status, _ = await _upload(tech, cert_file=other_cert, key_file=other_key)
    assert status == 200
    p2 = tech.hub.config.platform
    assert _read(p2.key_file) == other_key and _read(p.key_file) is None
    assert stat.S_IMODE(os.stat(p2.key_file).st_mode) == 0o600
    # Removing the client certificate and key removes them from the disk too.
    status, _ = await _upload(tech, remove_cert_file="on", remove_key_file="on")
    assert status == 200 and tech.hub.config.platform.key_file == ""
    assert _read(p2.key_file) is None and _read(p2.cert_file) is None
    assert list(_stored(tech)) == [Path(p2.ca_file).name]


# --- audit log ----------------------------------------------------------------------------------------


def test_the_audit_log_is_bounded_and_rotated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "MAX_BYTES", 20_000)
    log = AuditLog(tmp_path)
    for i in range(2000):
        log.record("technician@192.168.1.5", "settings", [{"path": "alerts.ack_timeout_s", "old": i, "new": i + 1}])
    assert log.path.stat().st_size < 20_000 + 500
    assert (tmp_path / "audit.jsonl.1").stat().st_size >= 20_000
    assert not (tmp_path / "audit.jsonl.2").exists()
    newest = log.recent(3)
    assert [e["changes"][0]["old"] for e in newest] == [1999, 1998, 1997]


def test_the_page_reads_only_the_end_of_a_huge_audit_log(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    line = json.dumps({"wall": 0, "who": "x", "action": "old", "changes": []}) + "\n"
    with log.path.open("w") as f:  # 20 MB from some earlier, unbounded version
        f.write(line * (20_000_000 // len(line)))
        f.write(json.dumps({"wall": 1, "who": "technician@192.168.1.5", "action": "settings", "changes": []}) + "\n")
    opened: list[int] = []
    real_open = Path.open

    def counting_open(self: Path, *a: Any, **kw: Any) -> Any:
        f = real_open(self, *a, **kw)
        real_read = f.read

        def read(n: int = -1) -> Any:
            data = real_read(n)
            opened.append(len(data))
            return data

        f.read = read
        return f

    with pytest.MonkeyPatch.context() as m:
        m.setattr(Path, "open", counting_open)
        entries = log.recent(50)
    assert entries[0]["action"] == "settings" and len(entries) == 50
    assert sum(opened) <= audit.TAIL_BYTES
    log.record("technician@192.168.1.5", "radios", [])  # rotates the 20 MB away
    assert log.path.stat().st_size < 1000
    assert [e["action"] for e in log.recent(3)] == ["radios", "settings", "old"], "history across the rotation"


async def test_the_audit_page_reads_the_file_off_the_event_loop(tech: Page[FakeHub],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = AuditLog.recent

    def recent(self: AuditLog, limit: int = 30) -> list[dict[str, Any]]:
        threads.append(threading.current_thread().name)
        return real(self, limit)

    monkeypatch.setattr(AuditLog, "recent", recent)
    status, _ = await tech.get("/audit")
    assert status == 200 and threads and threads[0] != threading.main_thread().name


# --- the database's file modes ----------------------------------------------------------------------


def test_the_database_and_its_wal_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = Store(tmp_path / "carehub.db")
        store.kv_set("x", "1")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.name.startswith("carehub.db")
                 and not p.name.endswith(".seq")}
        store.close()
    finally:
        os.umask(old)
    assert {"carehub.db", "carehub.db-wal"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "carehub.db"
    Store(path).close()
    os.chmod(path, 0o644)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- RFLink garbage ------------------------------------------------------------------------------------


async def test_a_stream_of_malformed_radio_lines_is_one_warning_per_interval() -> None:
    driver = RflinkDriver("/dev/null", [], emit=lambda obs: None, clock=lambda: Stamp(0.0, 0.0, True))
    with structlog.testing.capture_logs() as logs:
        for i in range(5000):
            driver._handle_line(f"20;{i % 100:02X};garbage without end".encode())
    assert driver.counters["malformed"] == 5000
    lines = [e for e in logs if e["event"] == "rflink.bad_line"]
    assert len(lines) == 1 and lines[0]["count"] == 1
    await asyncio.sleep(0)
