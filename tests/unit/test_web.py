"""The technician's page through aiohttp's test client: every endpoint, and hostile input.

Most tests run the page against ``FakeHub`` (``tests/unit/fake_hub.py``): the hub as
the page sees it (``HubView``), which saves the config as the hub does, records
what the page asked for (configs applied and by whom, test alarms, maintenance,
probes, scans) and answers with status, heard codes, events and alert rows the
test sets. A test of what the page accepts, refuses, saves and shows builds no
store, detectors or uplink.

A few tests deliberately run the page with a real ``Hub`` (built, not started: no
broker, no radios), through the fixtures ``real_page`` and ``real_tech`` and in the
section "the page with the real hub" at the end, because what they check is the
hub's answer to the page, which a fake could only repeat:

- the test alarm goes through the real alert path (stored, queued for the
  platform, acknowledged by the policy) and the page shows the acknowledgement;
- a help press through the real pipeline and policy is on the status page;
- live events come from the pipeline's bus;
- a settings change rebuilds the detectors;
- a sensor added or removed on the page is live in the device registry;
- a new site id reaches the alert policy and the topics;
- the fake answers in the real hub's shape (what keeps the fake honest).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.rflink.codec import Heard
from gateway.config import Config, save_atomic, validate
from gateway.daemon import Hub
from gateway.web import forms, i18n
from gateway.web.app import COUNTERS, MAX_REQUEST, HubView, make_app
from gateway.web.security import LoginLimiter, Sessions
from tests.unit.fake_hub import FakeHub

PASSWORD = "correct horse battery"
DEVICES = [{"id": "sos-bed", "protocol": "EV1527", "address": "0a1b2c", "switch": "01", "kind": "sos",
            "room": "bedroom"}]

H = TypeVar("H", FakeHub, Hub)


class Page(Generic[H]):
    def __init__(self, client: TestClient[web.Request, web.Application], hub: H, tmp: Path) -> None:
        self.client = client
        self.hub: H = hub
        self.tmp = tmp
        self.csrf = ""

    @property
    def state(self) -> Path:
        return self.hub.state_dir

    def saved(self) -> dict[str, Any]:
        return tomllib.loads(self.hub.config_path.read_text())

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        r = await self.client.get(path, **kw)
        text = await r.text()
        m = re.search(r'name="csrf" value="([^"]+)"', text)
        if m:
            self.csrf = m.group(1)
        return r.status, text

    async def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kw: Any
                   ) -> tuple[int, str]:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf", self.csrf)
        r = await self.client.post(path, data=body, **kw)
        return r.status, await r.text()

    async def set_up(self) -> None:
        await self.get("/setup")
        code = (self.state / "web-setup-code").read_text().strip()
        status, _ = await self.post("/setup", {"code": code, "password": PASSWORD, "repeat": PASSWORD})
        assert status == 200
        await self.get("/status")


def _config(tmp: Path, **overrides: Any) -> tuple[Config, Path]:
    """The test home's configuration, saved where the hub reads it."""
    data: dict[str, Any] = {"storage": {"path": str(tmp / "state" / "carehub.db")}, "devices": DEVICES,
                            "site": {"id": "test-site"}}
    data.update(overrides)
    cfg = validate(data)
    path = tmp / "carehub.toml"
    save_atomic(cfg, path)
    return cfg, path


def make_fake_hub(tmp: Path, **overrides: Any) -> FakeHub:
    return FakeHub(*_config(tmp, **overrides))


def make_hub(tmp: Path, **overrides: Any) -> Hub:
    return Hub(*_config(tmp, **overrides))


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page[FakeHub]]:
    hub = make_fake_hub(tmp_path)
    async with TestClient(TestServer(make_app(hub), host="127.0.0.1")) as client:
        yield Page(client, hub, tmp_path)


@pytest.fixture
async def tech(page: Page[FakeHub]) -> Page[FakeHub]:
    await page.set_up()
    return page


@pytest.fixture
async def real_page(tmp_path: Path) -> AsyncIterator[Page[Hub]]:
    """The page with a real hub behind it: only for what the hub itself does with the page's requests."""
    hub = make_hub(tmp_path)
    async with TestClient(TestServer(make_app(hub), host="127.0.0.1")) as client:
        yield Page(client, hub, tmp_path)
    hub.store.close()


@pytest.fixture
async def real_tech(real_page: Page[Hub]) -> Page[Hub]:
    await real_page.set_up()
    return real_page


# --- first run, login, sessions --------------------------------------------------------------


async def test_first_visit_goes_to_setup_and_there_is_no_default_password(page: Page[FakeHub]) -> None:
    status, text = await page.get("/")
    assert status == 200 and "/setup" in text and 'name="code"' in text
    code_file = page.state / "web-setup-code"
    assert stat.S_IMODE(code_file.stat().st_mode) == 0o600
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code_file.read_text().strip())
    # Nothing else opens without a session.
    for path in ("/status", "/devices", "/settings", "/platform", "/alarm", "/audit"):
        r = await page.client.get(path, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/setup", path
    r = await page.client.get("/api/heard")
    assert r.status == 401
    status, _ = await page.post("/login", {"password": ""})
    assert status in (401, 403)


async def test_setup_needs_the_code_then_sets_an_argon2_password(page: Page[FakeHub]) -> None:
    await page.get("/setup")
    status, text = await page.post("/setup", {"code": "AAAA-AAAA", "password": PASSWORD, "repeat": PASSWORD})
    assert status == 400 and "setup code is not right" in text
    code = (page.state / "web-setup-code").read_text().strip()
    status, text = await page.post("/setup", {"code": code, "password": "short", "repeat": "short"})
    assert status == 400 and "at least 10" in text
    status, text = await page.post("/setup", {"code": code, "password": PASSWORD, "repeat": PASSWORD + "x"})
    assert status == 400 and "not the same" in text
    r = await page.client.post("/setup", data={"csrf": page.csrf, "code": code.lower().replace("-", " "),
                                               "password": PASSWORD, "repeat": PASSWORD}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/status"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    stored = (page.state / "web-password").read_text()
    assert PASSWORD not in stored and json.loads(stored)["hash"].startswith("$argon2id$")
    assert stat.S_IMODE((page.state / "web-password").stat().st_mode) == 0o600
    assert not (page.state / "web-setup-code").exists(), "the code works once"
    # The code cannot be used again to take the hub over.
    r = await page.client.get("/setup", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    entries = [json.loads(x) for x in (page.state / "audit.jsonl").read_text().splitlines()]
    assert entries[-1]["action"] == "password_set" and PASSWORD not in json.dumps(entries)


async def test_login_logout_and_wrong_password(tech: Page[FakeHub]) -> None:
    await tech.post("/logout")
    r = await tech.client.get("/status", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    await tech.get("/login")
    status, text = await tech.post("/login", {"password": "wrong password"})
    assert status == 401 and "Wrong password" in text
    status, text = await tech.post("/login", {"password": PASSWORD})
    assert status == 200 and "Hub status" in text


async def test_brute_force_login_is_locked_out(tech: Page[FakeHub]) -> None:
    await tech.post("/logout")
    await tech.get("/login")
    for _ in range(LoginLimiter.PER_PEER):
        status, _ = await tech.post("/login", {"password": "guess"})
        assert status == 401
    r = await tech.client.post("/login", data={"csrf": tech.csrf, "password": PASSWORD})
    assert r.status == 429, "even the right password waits out the lockout"
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many wrong attempts" in await r.text()
    assert tech.hub.config  # the hub is unharmed


async def test_login_limiter_backs_off_and_locks_everyone_after_many_addresses() -> None:
    lim = LoginLimiter()
    for _ in range(5):
        lim.failed("10.0.0.1", now=0)
    assert 59 <= lim.retry_after("10.0.0.1", now=0) <= 60
    assert lim.retry_after("10.0.0.2", now=0) == 0
    for _ in range(5):
        lim.failed("10.0.0.1", now=100)
    assert lim.retry_after("10.0.0.1", now=100) == pytest.approx(120)  # doubled
    for i in range(30):
        lim.failed(f"10.0.1.{i}", now=200)
    assert lim.retry_after("10.9.9.9", now=200) > 0, "changing address does not help"


async def test_sessions_expire_when_idle_and_end_when_the_password_is_reset(tech: Page[FakeHub],
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    s = Sessions(idle_s=60)
    session = s.create("10.0.0.5", "hash")
    assert s.get(session.token, "hash") is session
    assert s.get(session.token, "other-hash") is None
    now = __import__("time").monotonic()
    session2 = s.create("10.0.0.5", "hash")
    monkeypatch.setattr("gateway.web.security.time.monotonic", lambda: now + 3600)
    assert s.get(session2.token, "hash") is None
    monkeypatch.undo()
    # A reset at the hub (lost password) ends the logged-in browser at once.
    tech.hub  # noqa: B018
    from gateway.web.security import Credentials

    new_code = Credentials(tech.state).reset()
    r = await tech.client.get("/status", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/setup"
    assert (tech.state / "web-setup-code").read_text().strip() == new_code


# --- hostile requests --------------------------------------------------------------------------

POSTS = ["/logout", "/settings", "/platform", "/platform/certificates", "/devices/radios", "/devices/sensor",
         "/devices/wearable", "/devices/remove", "/alarm", "/api/scan"]


@pytest.mark.parametrize("path", POSTS)
async def test_every_change_needs_the_csrf_token(tech: Page[FakeHub], path: str) -> None:
    before = tech.hub.config_path.read_bytes()
    for token in (None, "forged"):
        data = {"detection.home.inactivity_floor_min": "99", "kind": "sensor", "id": "sos-bed"}
        if token:
            data["csrf"] = token
        r = await tech.client.post(path, data=data, allow_redirects=False)
        assert r.status == 403, (path, token)
    assert tech.hub.config_path.read_bytes() == before
    assert tech.hub.test_alarms == [] and tech.hub.applied == [] and tech.hub.scans == [], "the hub was asked nothing"
    assert tech.client.app[COUNTERS]["csrf_refused"] == 2


async def test_setup_and_login_forms_need_their_own_csrf_token(page: Page[FakeHub]) -> None:
    await page.get("/setup")
    code = (page.state / "web-setup-code").read_text().strip()
    page.client.session.cookie_jar.clear()
    status, _ = await page.post("/setup", {"code": code, "password": PASSWORD, "repeat": PASSWORD})
    assert status == 403
    assert not (page.state / "web-password").exists()


async def test_oversized_requests_are_refused(tech: Page[FakeHub]) -> None:
    r = await tech.client.post("/settings", data={"csrf": tech.csrf, "x": "a" * (MAX_REQUEST + 10)})
    assert r.status == 413
    status, _text = await tech.get("/status")
    assert status == 200  # and the page carries on


async def test_script_injection_in_names_is_shown_as_text(tech: Page[FakeHub]) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    await tech.get("/devices/sensor?protocol=EV1527&address=0c0009")
    status, _ = await tech.post("/devices/sensor", {"id": "pir-hall", "name": evil, "room": "hall", "kind": "pir",
                                                    "protocol": "EV1527", "address": "0c0009", "switch": "",
                                                    "offline_after_s": "0"})
    assert status == 200
    assert tech.hub.config.devices[-1].name == evil  # kept as typed
    for path in ("/devices", "/status", "/audit", "/devices/remove?kind=sensor&id=pir-hall"):
        status, text = await tech.get(path)
        assert status == 200
        assert "<script>alert" not in text and "<img src=x" not in text, path
    status, text = await tech.get("/devices")
    assert "&lt;script&gt;" in text
    # A hostile id is refused by the schema, next to its field.
    status, text = await tech.post("/devices/sensor", {"id": "<b>x</b>", "room": "hall", "kind": "pir",
                                                       "protocol": "EV1527", "address": "0c000a"})
    assert status == 400 and "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text


async def test_csp_and_security_headers(tech: Page[FakeHub]) -> None:
    r = await tech.client.get("/status")
    h = r.headers
    assert "script-src 'self'" in h["Content-Security-Policy"] and "frame-ancestors 'none'" in h[
        "Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert h["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", [
    "/static/../carehub.toml", "/static/%2e%2e/%2e%2e/state/web-password", "/static/..%2f..%2fapp.py",
    "/static/%2e%2e%2fapp.py", "/devices/sensor?original=../../etc/passwd", "/api/alerts/..%2f..%2fetc%2fpasswd",
    "/static/", "/static/.", "/../../etc/passwd",
])
async def test_path_traversal_reveals_nothing(tech: Page[FakeHub], path: str) -> None:
    r = await tech.client.get(path, allow_redirects=False)
    text = await r.text()
    assert r.status in (400, 403, 404), (path, r.status)
    assert "argon2" not in text and "root:" not in text and "import" not in text


async def test_static_files_are_served(tech: Page[FakeHub]) -> None:
    r = await tech.client.get("/static/app.css")
    assert r.status == 200 and "--accent" in await r.text()
    r = await tech.client.get("/static/app.js")
    assert r.status == 200 and "textContent" in await r.text()


async def test_unknown_host_names_are_refused_against_dns_rebinding(tech: Page[FakeHub]) -> None:
    for host in ("evil.example.com", "attacker.net:8080"):
        r = await tech.client.get("/status", headers={"Host": host})
        assert r.status == 421, host
    for host in ("192.168.1.20:8080", "carehub.local", "carehub", "[fd00::1]:8080", "localhost:8080"):
        r = await tech.client.get("/status", headers={"Host": host}, allow_redirects=False)
        assert r.status == 200, host


async def test_only_lan_peers_are_answered(tmp_path: Path) -> None:
    app = make_app(make_fake_hub(tmp_path))

    @web.middleware
    async def from_address(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(remote=request.headers["X-Test-Peer"]))

    app.middlewares.insert(0, from_address)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for peer, allowed in (("8.8.8.8", False), ("2001:4860::8888", False), ("192.168.1.7", True),
                              ("10.1.2.3", True), ("fe80::1", True), ("::ffff:192.168.0.9", True)):
            r = await client.get("/login", headers={"X-Test-Peer": peer}, allow_redirects=False)
            assert (r.status != 403) == allowed, peer
        assert app[COUNTERS]["refused_peer"] == 2


async def test_a_handler_error_is_a_logged_500_not_a_crash(tech: Page[FakeHub],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(tech.hub, "status", broken)
    r = await tech.client.get("/status")
    assert r.status == 500 and "boom" not in await r.text()
    assert tech.client.app[COUNTERS]["errors"] == 1
    monkeypatch.undo()
    r = await tech.client.get("/status")
    assert r.status == 200


async def test_language_from_browser_and_switch(tech: Page[FakeHub]) -> None:
    _, text = await tech.get("/status", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "网关状态" in text and 'lang="zh-CN"' in text
    _, text = await tech.get("/status", headers={"Accept-Language": "fr-FR, en;q=0.5"})
    assert "Hub status" in text
    r = await tech.client.get("/lang?to=zh&next=/settings", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/settings"
    _status, text = await tech.get("/settings", headers={"Accept-Language": "en"})
    assert "检测设置" in text, "the switch wins over the browser"
    for bad in ("//evil.example", "https://evil.example/", "/\\evil", "javascript:alert(1)"):
        r = await tech.client.get("/lang", params={"to": "en", "next": bad}, allow_redirects=False)
        assert r.headers["Location"] == "/status", bad


def test_language_pick() -> None:
    assert i18n.pick(None, "zh-TW,zh;q=0.9") == "zh"
    assert i18n.pick(None, "en-GB,en;q=0.9,zh;q=0.8") == "en"
    assert i18n.pick(None, "de, zh;q=0.3") == "zh"
    assert i18n.pick(None, "de, q=x;;") == "en"
    assert i18n.pick("zh", "en") == "zh"
    assert i18n.pick("xx", None) == "en"


def test_catalogues_are_complete_and_templates_use_only_known_keys() -> None:
    en, zh = i18n.catalogue("en"), i18n.catalogue("zh")
    assert set(en) == set(zh)
    assert all(v.strip() or k.endswith(".help") for k, v in {**en, **zh}.items())
    for f in forms.DETECTION_FIELDS + forms.PLATFORM_FIELDS + forms.RADIO_FIELDS + forms.DEVICE_FIELDS + \
            forms.WEARABLE_FIELDS:
        assert f"field.{f.path}.label" in en, f.path
        if f.pattern and f.kind == "text":
            assert f"field.{f.path}.format" in en, f.path
        for c in f.choices:
            assert f"choice.{f.path.split('.')[-1]}.{c}" in en, (f.path, c)
    templates = Path(__file__).resolve().parents[2] / "gateway" / "web" / "templates"
    literal = re.compile(r"""\bt\(\s*["']([a-z_.0-9]+)["']\s*[,)]""")
    for tpl in templates.glob("*.html"):
        for key in literal.findall(tpl.read_text()):
            assert key in en, (tpl.name, key)
    # Placeholders match, so a Chinese page never fails to format.
    for k in en:
        assert set(re.findall(r"{(\w+)}", en[k])) == set(re.findall(r"{(\w+)}", zh[k])), k


async def test_every_page_renders_in_both_languages(tech: Page[FakeHub]) -> None:
    tech.hub.hear(Heard("EV1527", "0c0009", "", "ON", None, None))
    alert_id = await tech.hub.send_test_alarm("test")
    # Every part of the status page shown: learning rows, an event, a device heard, maintenance, a switch undone.
    tech.hub.home_learning = {"days_learned": 3.0, "learning": False, "wake_ups_learned": 2, "contexts": [
        {"context": "bedroom:night", "silences": 12, "long_silences": 1, "limit_min": 480.0, "learned": True}]}
    tech.hub.bus.publish({"wall": 1_796_000_000.0, "kind": "button", "device": "sos-bed", "room": "bedroom",
                          "text": "button: help", "detail": {"action": "help"}})
    tech.hub.registry.devices["sos-bed"].last_seen_wall = 1_796_000_000.0
    tech.hub.set_maintenance({"wall": 1_796_000_000.0, "by": "ops-7", "reason": "new sensor", "paths": []})
    tech.hub.platform_switch = {"wall": 1_796_000_000.0, "result": "reverted", "broker": "mqtts://10.0.0.9:8883",
                                "kept": "mqtt://127.0.0.1:1883", "reason": "no connection within 60 s"}
    pages = ["/status", "/status?part=summary", "/devices", "/devices/learn", "/devices/sensor",
             "/devices/sensor?original=sos-bed", "/devices/wearable", "/devices/remove?kind=sensor&id=sos-bed",
             "/settings", "/platform", "/alarm", f"/alarm?id={alert_id}", "/audit"]
    for lang in ("en", "zh"):
        for path in pages:
            status, text = await tech.get(path, headers={"Accept-Language": lang})
            assert status == 200, (lang, path)
            # An unknown key would show up as its dotted name.
            assert not re.search(r">\s*(field|choice|status|devices|form|alarm|setup)\.[a-z_]+", text), (lang, path)


# --- devices ---------------------------------------------------------------------------------------


async def test_learn_a_sensor_then_add_edit_and_remove_it(tech: Page[FakeHub]) -> None:
    hub = tech.hub
    status, text = await tech.get("/devices/learn")
    found = re.search(r'data-start="(\d+)"', text)
    assert found is not None
    start = int(found.group(1))
    hub.hear(Heard("EV1527", "0c0009", "", "ON", "ok", None))
    hub.hear(Heard("EV1527", "0a1b2c", "01", "ON", None, "sos-bed"))
    r = await tech.client.get(f"/api/heard?after={start}")
    codes = (await r.json())["codes"]
    assert [c["address"] for c in codes] == ["0c0009", "0a1b2c"]
    assert codes[1]["known_as"] == "sos-bed" and codes[0]["known_as"] is None
    status, text = await tech.get(codes[0]["add_url"])
    assert 'value="0c0009"' in text and 'value="EV1527"' in text
    status, _ = await tech.post("/devices/sensor", {"id": "pir-kitchen", "name": "Kitchen", "room": "kitchen",
                                                    "kind": "pir", "protocol": "EV1527", "address": "0c0009",
                                                    "switch": "", "offline_after_s": "0", "original": ""})
    assert status == 200
    assert [d["id"] for d in tech.saved()["devices"]] == ["sos-bed", "pir-kitchen"]
    # Handed to the hub to apply live (that the real hub's registry has it at once: the real hub's section).
    assert [d.id for d in hub.config.devices] == ["sos-bed", "pir-kitchen"]
    assert hub.applied[-1][1] == "technician@127.0.0.1"
    # The same radio code twice is refused next to the address.
    status, text = await tech.post("/devices/sensor", {"id": "pir-other", "room": "kitchen", "kind": "pir",
                                                       "protocol": "EV1527", "address": "0C0009", "original": ""})
    assert status == 400 and "Already used by another device" in text
    # Edit: the room.
    status, _ = await tech.post("/devices/sensor", {"original": "pir-kitchen", "id": "pir-kitchen",
                                                    "name": "Kitchen", "room": "dining", "kind": "pir",
                                                    "protocol": "EV1527", "address": "0c0009", "switch": "",
                                                    "offline_after_s": "0"})
    assert status == 200 and hub.config.devices[-1].room == "dining"
    status, text = await tech.get("/devices/remove?kind=sensor&id=pir-kitchen")
    assert "Remove" in text and "Kitchen" in text
    status, _ = await tech.post("/devices/remove", {"kind": "sensor", "id": "pir-kitchen"})
    assert status == 200 and [d["id"] for d in tech.saved()["devices"]] == ["sos-bed"]
    assert [d.id for d in hub.config.devices] == ["sos-bed"]
    actions = [json.loads(x)["action"] for x in (tech.state / "audit.jsonl").read_text().splitlines()]
    assert actions[-3:] == ["devices.add", "devices.edit", "devices.remove"]
    r = await tech.client.get("/api/heard?after=x")
    assert r.status == 400
    r = await tech.client.post("/devices/remove", data={"csrf": tech.csrf, "kind": "../x", "id": "sos-bed"})
    assert r.status == 404


async def test_wearables_scan_needs_bluetooth_and_a_wearable_can_be_added(tech: Page[FakeHub]) -> None:
    r = await tech.client.post("/api/scan", headers={"X-CSRF-Token": tech.csrf})
    data = await r.json()
    assert "Bluetooth is switched off" in data["error"]
    status, text = await tech.get("/devices/wearable?address=AA:BB:CC:DD:EE:01&name=pendant")
    assert 'value="AA:BB:CC:DD:EE:01"' in text
    status, text = await tech.post("/devices/wearable", {"id": "pendant", "name": "Pendant",
                                                         "address": "AA:BB:CC:DD:EE:0Z", "profile": "carehub",
                                                         "placement": "neck", "cancel_window_s": "30"})
    assert status == 400 and "Bluetooth address" in text
    status, _ = await tech.post("/devices/wearable", {"id": "pendant", "name": "Pendant",
                                                      "address": "AA:BB:CC:DD:EE:01", "profile": "carehub",
                                                      "placement": "neck", "cancel_window_s": "30"})
    assert status == 200 and tech.saved()["wearables"][0]["placement"] == "neck"


async def test_a_scan_lists_what_was_heard_marks_known_wearables_and_says_a_radio_problem(
        tech: Page[FakeHub]) -> None:
    await tech.get("/devices")
    status, _ = await tech.post("/devices/radios", {"ble.enabled": "on", "ble.adapter": "hci0", "rflink.port":
                                                    "/dev/ttyACM0", "_bool": "rflink.enabled,ble.enabled"})
    assert status == 200 and tech.hub.config.ble.enabled
    await tech.post("/devices/wearable", {"id": "pendant", "name": "Pendant", "address": "AA:BB:CC:DD:EE:01",
                                          "profile": "carehub", "placement": "neck", "cancel_window_s": "30"})
    tech.hub.scan_result = [{"address": "aa:bb:cc:dd:ee:01", "name": "pendant", "rssi": -60},
                            {"address": "AA:BB:CC:DD:EE:02", "name": None, "rssi": -80}]
    data = await (await tech.client.post("/api/scan", headers={"X-CSRF-Token": tech.csrf})).json()
    assert data["error"] is None and tech.hub.scans == [8.0]
    assert [(f["address"], f["known_as"]) for f in data["found"]] == [("aa:bb:cc:dd:ee:01", "pendant"),
                                                                      ("AA:BB:CC:DD:EE:02", None)]
    assert data["found"][1]["add_url"] == "/devices/wearable?address=AA%3ABB%3ACC%3ADD%3AEE%3A02&name="
    tech.hub.ble_problem = "adapter hci0 is not powered"
    data = await (await tech.client.post("/api/scan", headers={"X-CSRF-Token": tech.csrf})).json()
    assert data["error"] == "Scanning failed: adapter hci0 is not powered" and data["found"] == []


# --- settings and platform ---------------------------------------------------------------------------


async def test_invalid_settings_are_shown_next_to_the_field_and_nothing_is_saved(tech: Page[FakeHub]) -> None:
    before = tech.hub.config_path.read_bytes()
    await tech.get("/settings")
    status, text = await tech.post("/settings", {"detection.home.inactivity_floor_min": "5",
                                                 "detection.home.quiet_hours": "25-3",
                                                 "alerts.ack_timeout_s": "abc", "_bool": ""})
    assert status == 400
    assert tech.hub.config_path.read_bytes() == before
    field = re.search(r'<div class="field invalid">(?:(?!<div class="field).)*?id="f-detection-home-inactivity-'
                      r'floor-min".*?</div>', text, re.S)
    assert field and "Must be a number from 10 to 1440 min" in field.group(0)
    assert "Write two hours with a dash" in text and "Must be a number from 1 to 3600 s" in text
    assert 'value="5"' in text, "what was typed stays in the field"


async def test_valid_settings_are_saved_atomically_applied_live_and_audited(tech: Page[FakeHub]) -> None:
    hub = tech.hub
    await tech.get("/settings")
    form = {"detection.home.inactivity_floor_min": "50", "detection.home.quiet_hours": "13-15",
            "detection.home.wellbeing_notices": "", "_bool": "detection.home.wellbeing_notices"}
    r = await tech.client.post("/settings", data={**form, "csrf": tech.csrf}, allow_redirects=False)
    assert r.status == 303
    saved = tech.saved()["detection"]["home"]
    assert saved["inactivity_floor_min"] == 50 and saved["quiet_hours"] == "13-15"
    assert saved["wellbeing_notices"] is False
    assert hub.config.detection.home.inactivity_floor_min == 50
    # Applied live, by whom (the detectors rebuilt with the new limits: the real hub's section).
    assert [(cfg.detection.home.inactivity_floor_min, actor) for cfg, actor in hub.applied] == [
        (50, "technician@127.0.0.1")]
    assert tomllib.loads(hub.config_path.with_name("carehub.toml.bak").read_text())["detection"]["home"][
        "inactivity_floor_min"] == 45
    assert not list(hub.config_path.parent.glob(".*tmp*"))
    entry = json.loads((tech.state / "audit.jsonl").read_text().splitlines()[-1])
    assert entry["who"] == "technician@127.0.0.1" and entry["action"] == "settings"
    assert {"path": "detection.home.inactivity_floor_min", "old": 45.0, "new": 50.0} in entry["changes"]
    _status, text = await tech.get("/settings")
    assert "Saved and applied." in text
    # A fall-detection box not on the form is never switched off by a partial post.
    await tech.post("/settings", {"detection.home.inactivity_floor_min": "55"})
    assert hub.config.detection.fall.enabled


async def test_platform_settings_secrets_and_test_connection(tech: Page[FakeHub], unused_tcp_port: int) -> None:
    hub = tech.hub
    await tech.get("/platform")
    base = {"site.id": "test-site", "platform.host": "127.0.0.1", "platform.port": str(unused_tcp_port),
            "platform.protocol": "5", "platform.base_topic": "carehub/v1", "platform.username": "hub",
            "platform.password": "s3cret-pass", "_bool": "platform.tls"}
    status, text = await tech.post("/platform", {**base, "action": "test"})
    assert status == 200 and "Connection failed" in text
    assert hub.probed[-1].port == unused_tcp_port, "what is in the form is tested"
    assert hub.config.platform.port == 1883, "testing does not save"
    status, text = await tech.post("/platform", {**base, "action": "save"})
    assert status == 200 and hub.config.platform.port == unused_tcp_port
    assert hub.config.platform.password == "s3cret-pass"
    assert "s3cret-pass" not in text, "a secret is never sent back to the browser"
    # Empty password field keeps the stored one.
    await tech.post("/platform", {**base, "platform.password": "", "platform.username": "hub2", "action": "save"})
    assert hub.config.platform.password == "s3cret-pass" and hub.config.platform.username == "hub2"
    audit = (tech.state / "audit.jsonl").read_text()
    assert "s3cret-pass" not in audit and "(changed, not shown)" in audit
    status, text = await tech.post("/platform", {**base, "platform.port": "70000", "site.id": "bad id!"})
    assert status == 400 and "Must be a number from 1 to 65535" in text and "Letters, digits" in text
    # A new site id is saved (that alerts and topics follow it: the real hub's section).
    await tech.post("/platform", {**base, "site.id": "flat-12", "action": "save"})
    assert hub.config.site.id == "flat-12" and tech.saved()["site"]["id"] == "flat-12"


def _pem_pair(tmp: Path) -> tuple[bytes, bytes, bytes]:
    from gateway.web.certs import ensure_certificate

    cert, key, _ = ensure_certificate(tmp)
    from cryptography.hazmat.primitives import serialization

    k = serialization.load_pem_private_key(key.read_bytes(), None)
    encrypted = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"pw"))
    return cert.read_bytes(), key.read_bytes(), encrypted


async def test_certificate_upload(tech: Page[FakeHub], tmp_path: Path) -> None:
    import aiohttp

    cert, key, encrypted = _pem_pair(tmp_path / "pki")
    await tech.get("/platform")

    async def upload(**files: bytes | str) -> tuple[int, str]:
        form = aiohttp.FormData()
        form.add_field("csrf", tech.csrf)
        for name, content in files.items():
            if isinstance(content, str):
                form.add_field(name, content)
            else:
                form.add_field(name, content, filename="../../etc/" + name, content_type="application/x-pem-file")
        r = await tech.client.post("/platform/certificates", data=form)
        return r.status, await r.text()

    status, text = await upload(ca_file=b"not a certificate")
    assert status == 400 and "Not a PEM certificate" in text
    status, text = await upload(key_file=encrypted, cert_file=cert)
    assert status == 400 and "password-protected" in text
    status, text = await upload(cert_file=cert)  # a client certificate needs its key
    assert status == 400 and "together" in text
    assert tech.hub.config.platform.cert_file == ""
    status, text = await upload(ca_file=b"x" * (70 * 1024))
    assert status == 400 and "larger than 64 KB" in text
    status, text = await upload(ca_file=cert, cert_file=cert, key_file=key)
    assert status == 200, text
    p = tech.hub.config.platform
    assert Path(p.ca_file).parent == tech.state / "platform-certs"
    assert stat.S_IMODE(os.stat(p.key_file).st_mode) == 0o600
    assert await asyncio.to_thread(Path(p.key_file).read_bytes) == key
    assert "Installed:" in text
    status, text = await upload(remove_ca_file="on")
    assert status == 200 and tech.hub.config.platform.ca_file == ""


# --- any settings post, files written as root, a burst of logins -------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([f.path for f in forms.DETECTION_FIELDS] + ["_bool", "x", "detection"]),
                       st.text(max_size=40), max_size=8))
async def test_any_settings_post_is_saved_valid_or_refused_never_an_error(tech: Page[FakeHub],
                                                                         form: dict[str, str]) -> None:
    r = await tech.client.post("/settings", data={**form, "csrf": tech.csrf}, allow_redirects=False)
    assert r.status in (303, 400), (form, r.status)
    # Whatever happened, the file on disk is a valid configuration.
    from gateway.config import load

    assert load(tech.hub.config_path).detection.home.inactivity_floor_min >= 10


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files away")
def test_codes_written_by_root_belong_to_the_service_user(tmp_path: Path) -> None:
    from gateway.web.security import Credentials

    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 4321, 4321)  # as systemd's StateDirectory= makes it for the carehub user
    creds = Credentials(state)
    creds.ensure_setup_code()
    creds.set_password(PASSWORD)
    creds.reset()
    for name in ("web-setup-code",):
        st = (state / name).stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 4321, 0o600)


async def test_a_login_burst_hashes_one_at_a_time_and_stops_at_the_lockout(
        tech: Page[FakeHub], monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time as _time

    from gateway.web.security import Credentials

    real_verify = Credentials.verify
    running, peak, calls = 0, 0, 0
    lock = threading.Lock()

    def counting_verify(self: Credentials, password: str) -> bool:
        nonlocal running, peak, calls
        with lock:
            running += 1
            calls += 1
            peak = max(peak, running)
        try:
            _time.sleep(0.02)
            return real_verify(self, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(Credentials, "verify", counting_verify)
    await tech.post("/logout")
    await tech.get("/login")

    async def attempt() -> int:
        r = await tech.client.post("/login", data={"csrf": tech.csrf, "password": "guess"})
        return r.status

    statuses = await asyncio.gather(*(attempt() for _ in range(20)))
    assert peak == 1, "never two argon2 hashes (19 MiB each) at once"
    assert calls == LoginLimiter.PER_PEER, "attempts queued behind the lockout are refused without hashing"
    assert sorted(statuses) == [401] * LoginLimiter.PER_PEER + [429] * (20 - LoginLimiter.PER_PEER)


# --- the platform's maintenance changes and undone broker settings ---------------------------


async def test_a_maintenance_change_is_shown_until_the_technician_ends_it(tech: Page[FakeHub]) -> None:
    tech.hub.set_maintenance({"wall": 1_796_000_000.0, "by": "ops-7", "reason": "bed sensor replaced",
                              "paths": ["detection.home.enabled"]})
    status, text = await tech.get("/status")
    assert status == 200 and 'id="maintenance"' in text and "bed sensor replaced" in text
    assert "detection.home.enabled" in text
    status, text = await tech.post("/maintenance/end")
    assert status == 200 and 'id="maintenance"' not in text
    assert tech.hub.maintenance() is None and tech.hub.maintenance_set[-1] is None
    entry = json.loads((tech.state / "audit.jsonl").read_text().splitlines()[-1])
    assert entry["action"] == "maintenance.end" and entry["changes"][0]["old"] == "bed sensor replaced"
    status, _ = await tech.post("/maintenance/end", csrf=False)
    assert status == 403


async def test_undone_broker_settings_are_said_on_the_status_page(tech: Page[FakeHub]) -> None:
    tech.hub.platform_switch = {"wall": 1_796_000_000.0, "result": "reverted", "broker": "mqtts://10.0.0.9:8883",
                                "kept": "mqtt://127.0.0.1:1883", "reason": "no connection within 60 s"}
    _, text = await tech.get("/status")
    assert 'id="platform-switch"' in text and "mqtts://10.0.0.9:8883" in text
    await tech.client.get("/lang", params={"to": "zh", "next": "/status"})
    _, text = await tech.get("/status")
    assert "新的平台设置已撤销" in text


# --- the page with the real hub: what the hub itself does with the page's requests -------------------


async def test_the_fake_hub_answers_in_the_real_hub_s_shape(tmp_path: Path) -> None:
    """Status, alert rows, heard codes and restart paths keyed as the real hub's: what renders
    against the fake renders against the hub."""
    from detection.events import Stamp
    from drivers.rflink import RflinkDriver
    from gateway.config import merge

    real = make_hub(tmp_path / "real")
    fake = make_fake_hub(tmp_path / "fake")
    view: HubView = fake  # and mypy holds the fake to the protocol
    real_id = real.policy.raise_test("technician@127.0.0.1")
    fake_id = await view.send_test_alarm("technician@127.0.0.1")
    mine, theirs = view.status(), real.status()
    assert set(mine) == set(theirs)
    for key in ("platform", "clock", "hub", "home_learning"):
        assert set(mine[key]) == set(theirs[key]), key
    for key in ("devices", "open_alerts"):
        assert [set(row) for row in mine[key]] == [set(row) for row in theirs[key]] != [], key
    assert (mine["platform"]["broker"], mine["hub"]["site_id"]) == (theirs["platform"]["broker"],
                                                                    theirs["hub"]["site_id"])
    # A hub that was never started has no radio driver to ask: the driver's own answer, then.
    driver = RflinkDriver("/dev/null", [], emit=lambda obs: None, clock=lambda: Stamp(0.0, 0.0, True))
    with_radio = make_fake_hub(tmp_path / "radio", rflink={"enabled": True})
    assert set(with_radio.status()["rflink"]) == set(driver.status())
    r, f = real.alert(real_id), view.alert(fake_id)
    assert r is not None and f is not None
    assert (f.type, f.severity, f.state, f.test, f.level, f.evidence) == (r.type, r.severity, r.state, r.test,
                                                                          r.level, r.evidence)
    real.on_heard(Heard("EV1527", "0c0009", "", "ON", None, None), real.clock.now())
    fake.hear(Heard("EV1527", "0c0009", "", "ON", None, None))
    assert [set(c) for c in view.heard_codes(0)] == [set(c) for c in real.heard_codes(0)]
    # The same change needs the same restart.
    change = {"web": {"port": 8081}, "logging": {"level": "debug"}, "alerts": {"ack_timeout_s": 90}}
    restart = await view.apply_config(merge(fake.config, change), "test")
    assert restart == await real.apply_config(merge(real.config, change), "test") == ["logging.level", "web.port"]
    real.store.close()


async def test_status_shows_platform_devices_alerts_clock_and_events(real_tech: Page[Hub]) -> None:
    """A help press through the real pipeline and policy: its event and the open alert made of it."""
    from detection.events import ButtonAction, ButtonPress

    hub = real_tech.hub
    hub.pipeline.submit(ButtonPress(device="sos-bed", at=hub.clock.now(), room="bedroom", action=ButtonAction.HELP))
    _status, text = await real_tech.get("/status")
    assert "Not connected" in text and "mqtt://127.0.0.1:1883" in text
    assert "Messages waiting to be sent" in text
    assert "Help call" in text and "sent, waiting for the platform" in text  # the open alert
    assert "HELP button pressed" in text and "bedroom" in text
    assert "Clock" in text


async def test_live_events_stream(real_tech: Page[Hub]) -> None:
    """An observation submitted to the real pipeline reaches the browser's stream."""
    from detection.events import Motion

    hub = real_tech.hub
    r = await real_tech.client.get("/events")
    assert r.headers["Content-Type"] == "text/event-stream"
    assert (await r.content.readline()).startswith(b": hello")
    await r.content.readline()
    hub.pipeline.submit(Motion(device="sos-bed", at=hub.clock.now(), room="bedroom", active=True))
    line = await r.content.readline()
    assert line.startswith(b"data: ")
    ev = json.loads(line[6:])
    assert ev["device"] == "sos-bed" and ev["text"] == "motion"
    r.close()


async def test_a_sensor_added_or_removed_on_the_page_is_live_in_the_registry(real_tech: Page[Hub]) -> None:
    hub = real_tech.hub
    await real_tech.get("/devices/sensor?protocol=EV1527&address=0c0009")
    status, _ = await real_tech.post("/devices/sensor", {"id": "pir-kitchen", "name": "Kitchen", "room": "kitchen",
                                                         "kind": "pir", "protocol": "EV1527", "address": "0c0009",
                                                         "switch": "", "offline_after_s": "0", "original": ""})
    assert status == 200
    assert "pir-kitchen" in hub.registry.devices  # live, no restart
    status, _ = await real_tech.post("/devices/remove", {"kind": "sensor", "id": "pir-kitchen"})
    assert status == 200 and [d["id"] for d in real_tech.saved()["devices"]] == ["sos-bed"]
    assert "pir-kitchen" not in hub.registry.devices


async def test_a_settings_change_on_the_page_rebuilds_the_detectors(real_tech: Page[Hub]) -> None:
    hub = real_tech.hub
    detectors_before = hub.pipeline.detectors
    await real_tech.get("/settings")
    form = {"detection.home.inactivity_floor_min": "50", "detection.home.quiet_hours": "13-15",
            "detection.home.wellbeing_notices": "", "_bool": "detection.home.wellbeing_notices"}
    r = await real_tech.client.post("/settings", data={**form, "csrf": real_tech.csrf}, allow_redirects=False)
    assert r.status == 303
    assert hub.config.detection.home.inactivity_floor_min == 50
    assert hub.pipeline.detectors is not detectors_before  # rebuilt with the new limits


async def test_a_new_site_id_from_the_page_reaches_the_policy_and_the_topics(real_tech: Page[Hub]) -> None:
    hub = real_tech.hub
    await real_tech.get("/platform")
    form = {"site.id": "flat-12", "platform.host": "127.0.0.1", "platform.port": "1883", "platform.protocol": "5",
            "platform.base_topic": "carehub/v1", "platform.username": "hub", "platform.password": "s3cret-pass",
            "_bool": "platform.tls", "action": "save"}
    status, _ = await real_tech.post("/platform", form)
    assert status == 200
    for _ in range(20):  # the switch runs in a task of its own
        await asyncio.sleep(0.01)
    assert hub.policy.site == "flat-12" and "flat-12" in hub.topics.alert


async def test_test_alarm_goes_through_the_real_path_and_shows_the_acknowledgement(real_tech: Page[Hub]) -> None:
    """Stored, queued for the platform and acknowledged by the real policy; the page follows it."""
    hub = real_tech.hub
    await real_tech.get("/alarm")
    r = await real_tech.client.post("/alarm", data={"csrf": real_tech.csrf}, allow_redirects=False)
    assert r.status == 303
    alert_id = r.headers["Location"].split("id=")[1]
    row = hub.store.get_alert(alert_id)
    assert row is not None and row.test and row.state == "open"
    assert hub.store.outbox_depth() >= 1, "queued for the platform like any alert"
    r = await real_tech.client.get(f"/api/alerts/{alert_id}")
    view = await r.json()
    assert view["acked_text"] == "" and view["state"] == "open"
    hub.policy.on_platform_ack(alert_id, "platform-test")
    view = await (await real_tech.client.get(f"/api/alerts/{alert_id}")).json()
    assert "Acknowledged by the platform" in view["acked_text"] and "platform-test" in view["acked_text"]
    _, text = await real_tech.get(f"/alarm?id={alert_id}")
    assert "Acknowledged by the platform" in text
    r = await real_tech.client.get("/api/alerts/not-an-alert")
    assert r.status == 404
    _status, text = await real_tech.get("/audit")
    assert "test alarm sent" in text
