"""The page as served by the real daemon: HTTPS, the LAN bind, the setup-code command, live apply."""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomli_w

from simulators.broker import Mosquitto, free_port
from simulators.platform import PlatformEmulator
from simulators.rflink import RflinkEmulator
from tests.conftest import CODES, REPO, Daemon, hub_config

pytestmark = pytest.mark.integration

PASSWORD = "installer-pass-2026"


async def _log_in(session: aiohttp.ClientSession, base: str, code: str) -> str:
    """First-run setup through the page; returns the session's CSRF token."""
    async with session.get(base + "/setup") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    async with session.post(base + "/setup", data={"csrf": token, "code": code, "password": PASSWORD,
                                                   "repeat": PASSWORD}) as r:
        assert r.status == 200
        return re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)


def _setup_code(d: Daemon, tmp_path: Path) -> str:
    """The code from the state directory, as `sudo carehub setup-code` reads it; never from the journal."""
    hint = d.wait_event("web.setup_code")
    assert "code" not in hint and "sudo carehub setup-code" in hint["hint"]
    code = (tmp_path / "state" / "web-setup-code").read_text().strip()
    assert code not in d.log_path.read_text(), "the setup code must not be in the log"
    return code


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_https_with_a_self_signed_certificate_on_the_lan_bind(tmp_path: Path, mosquitto: Mosquitto,
                                                              daemon_factory: Callable[..., Daemon]) -> None:
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto.port, None, web={"enabled": True, "bind": "lan", "port": port,
                                                          "https": True})
    d = daemon_factory(cfg).start()
    fingerprint = d.wait_event("web.certificate")["sha256"]
    d.wait_event("web.listening")
    code = _setup_code(d, tmp_path)
    state = tmp_path / "state"
    assert stat.S_IMODE((state / "web-tls.key").stat().st_mode) == 0o600

    async def main() -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # self-signed: the technician compares the fingerprint instead
        hosts = ["127.0.0.1"] + (["[::1]"] if _ipv6_loopback() else [])
        for host in hosts:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
                async with session.get(f"https://{host}:{port}/setup") as r:
                    assert r.status == 200
                    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
                    assert "max-age" in r.headers["Strict-Transport-Security"]
            # Plain HTTP on the HTTPS port gets nothing useful.
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientError):
                    async with session.get(f"http://{host}:{port}/setup") as r:
                        assert r.status >= 400
                        raise aiohttp.ClientError("refused as expected")
        # unsafe=True: aiohttp keeps no cookies for IP addresses otherwise.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx),
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await _log_in(session, f"https://127.0.0.1:{port}", code)
            async with session.get(f"https://127.0.0.1:{port}/status") as r:
                assert "Hub status" in await r.text()

    asyncio.run(main())
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port), timeout=10))
    assert hashlib.sha256(der).hexdigest() == fingerprint.replace(":", "").lower()
    # The same certificate after a restart: the technician's browser exception stays valid.
    d.stop()
    d2 = daemon_factory(cfg).start()
    assert d2.wait_event("web.certificate")["sha256"] == fingerprint


def test_setup_code_command(tmp_path: Path) -> None:
    config = tmp_path / "carehub.toml"
    config.write_text(tomli_w.dumps({"storage": {"path": str(tmp_path / "state" / "carehub.db")}}))

    def setup_code(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gateway.cli", "setup-code", "--config", str(config), *args],
                              capture_output=True, text=True, cwd=REPO, timeout=30)

    first = setup_code()
    assert first.returncode == 0
    code = first.stdout.strip()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert setup_code().stdout.strip() == code, "the same code until it is used"
    from gateway.web.security import Credentials

    creds = Credentials(tmp_path / "state")
    creds.set_password(PASSWORD)
    done = setup_code()
    assert done.returncode == 1 and "already set" in done.stderr
    reset = setup_code("--reset")
    assert reset.returncode == 0 and reset.stdout.strip() != code
    assert not creds.password_set() and not creds.verify(PASSWORD)
    broken = tmp_path / "broken.toml"
    broken.write_text("web = 3")
    r = subprocess.run([sys.executable, "-m", "gateway.cli", "setup-code", "--config", str(broken)],
                       capture_output=True, text=True, cwd=REPO, timeout=30)
    assert r.returncode == 2 and "web" in r.stderr


def test_new_platform_settings_apply_live_and_nothing_is_lost(tmp_path: Path, mosquitto: Mosquitto,
                                                              rflink: RflinkEmulator,
                                                              daemon_factory: Callable[..., Daemon]) -> None:
    """The installer moves the hub to another broker from the page; no restart, and the next help call
    arrives at the new platform."""
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link, web={"enabled": True, "bind": "127.0.0.1", "port": port})
    d = daemon_factory(cfg).start()
    d.wait_event("uplink.connected")
    code = _setup_code(d, tmp_path)
    base = f"http://127.0.0.1:{port}"
    with Mosquitto() as second, PlatformEmulator("127.0.0.1", second.port) as platform:

        async def main() -> dict[str, Any]:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                csrf = await _log_in(session, base, code)
                form = {"csrf": csrf, "action": "save", "site.id": "test-site", "platform.host": "127.0.0.1",
                        "platform.port": str(second.port), "platform.protocol": "5",
                        "platform.base_topic": "carehub/v1", "_bool": "platform.tls"}
                async with session.post(base + "/platform", data=form) as r:
                    assert r.status == 200 and "Saved and applied." in await r.text()
                async with session.get(base + "/audit") as r:
                    text = await r.text()
                    assert "Broker port" in text and "platform.port" not in text  # in words, not keys
                return {}

        asyncio.run(main())
        d.wait_event("uplink.connected", where=lambda e: str(second.port) in e.get("broker", ""), timeout=15)
        rflink.frame(CODES["sos-bed"], "ON")
        assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10)
        assert d.proc is not None and d.proc.poll() is None


def _open_idle(port: int, sources: list[str], per_source: int) -> list[socket.socket]:
    """Connections that send nothing, as a scanner or a broken client leaves them."""
    out = []
    for source in sources:
        for _ in range(per_source):
            s = socket.socket()
            s.bind((source, 0))
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            out.append(s)
    return out


def _closed_by_peer(s: socket.socket, wait_s: float) -> bool:
    s.settimeout(wait_s)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except (TimeoutError, OSError):
        return False


def test_idle_sockets_cannot_starve_the_uplink(tmp_path: Path, mosquitto: Mosquitto,
                                               daemon_factory: Callable[..., Daemon]) -> None:
    """Hundreds of silent connections to the page, a hub with few descriptors, then a broker restart:
    the page refuses what is over its caps at once, closes the silent ones after the header timeout,
    logs each kind of refusal once, and the uplink reconnects."""
    import resource

    from gateway.web.server import HEADER_TIMEOUT_S

    port = free_port()
    cfg = hub_config(tmp_path, mosquitto.port, None, web={"enabled": True, "bind": "127.0.0.1", "port": port})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # what the daemon inherits
    try:
        d = daemon_factory(cfg).start(wait_ready=False)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))  # room for this test's sockets
    try:
        d.wait_event("hub.ready", timeout=20)
        d.wait_event("web.listening")
        d.wait_event("uplink.connected")
        opened_at = time.monotonic()
        idle = _open_idle(port, [f"127.0.0.{i}" for i in range(1, 21)], 20)  # 400 from 20 peers
        assert len(idle) >= 300
        refused = [s for s in idle if _closed_by_peer(s, 0.05)]
        kept = [s for s in idle if s not in refused]
        assert len(refused) >= len(idle) - 64, "beyond the caps: closed at once"
        # One that is let in sends its request head a byte at a time (slowloris).
        slow = kept[0]
        slow.sendall(b"GET /setup HTTP/1.1\r\n")
        # The broker restarts while the page is under this load: the uplink needs new descriptors.
        mosquitto.stop()
        mosquitto.start()
        d.wait_event("uplink.connected", nth=2, timeout=20)
        while time.monotonic() - opened_at < HEADER_TIMEOUT_S + 3:
            try:
                slow.sendall(b"X")
            except OSError:
                break  # closed by the hub
            time.sleep(0.5)
        # The silent ones that were let in, and the slow one, are closed after the header timeout.
        remaining = HEADER_TIMEOUT_S + 5 - (time.monotonic() - opened_at)
        assert all(_closed_by_peer(s, max(remaining, 0.1)) for s in kept)
        assert time.monotonic() - opened_at >= HEADER_TIMEOUT_S - 1, "not before the timeout"
        # The page still answers.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /setup HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert s.recv(12) == b"HTTP/1.1 200"
        events = [e.get("event", "") for e in d.events]
        refusals = [e for e in events if e.startswith("web.refused")]
        assert 1 <= len(refusals) <= 3, refusals  # one line per kind, not one per connection
        assert "out of system resource" not in d.log_path.read_text()
        assert d.proc is not None and d.proc.poll() is None
    finally:
        for s in idle if "idle" in locals() else []:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
