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
    code = d.wait_event("web.setup_code")["code"]
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
    code = d.wait_event("web.setup_code")["code"]
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
                    assert "platform.port" in text
                return {}

        asyncio.run(main())
        d.wait_event("uplink.restarted")
        d.wait_event("uplink.connected", where=lambda e: str(second.port) in e.get("broker", ""), timeout=15)
        rflink.frame(CODES["sos-bed"], "ON")
        assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10)
        assert d.proc is not None and d.proc.poll() is None
