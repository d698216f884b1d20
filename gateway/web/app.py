"""The technician's page: an aiohttp application served by the hub itself.

Plain server-rendered HTML (Jinja2, autoescaped) with a little JavaScript for
the live parts. Every change goes through the same schema as the TOML file
(``gateway.web.forms``), is saved atomically, applied live by the hub, and
written to the audit log. The middlewares, in order: answer only LAN peers and
known host names (a public address, or DNS rebinding from a web site the
resident visits, gets nothing), add security headers, send anyone without a
session to the setup or login page, and refuse any change without the
session's CSRF token.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import secrets
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import jinja2
import structlog
from aiohttp import web

from gateway.config import Config, ConfigError, FieldError, to_data, write_atomic
from gateway.config.schema import PlatformConfig, is_lan_address
from gateway.store import AlertRow
from gateway.web import forms, i18n
from gateway.web.audit import AuditLog, changes
from gateway.web.forms import FormErrors, FormField
from gateway.web.limits import CLOSE_STREAM, LogOnce, RateLimit, StreamSlots
from gateway.web.security import Credentials, LoginLimiter, Session, Sessions, password_problem

log = structlog.get_logger("carehub.web")

SESSION_COOKIE = "carehub_session"
PRE_COOKIE = "carehub_pre"  # CSRF token for the setup and login forms, before there is a session
MAX_REQUEST = 256 * 1024  # the largest legitimate post is three PEM files
MAX_PEM = 64 * 1024
PUBLIC_PATHS = ("/setup", "/login", "/lang")  # and everything under /static/
CERT_NAMES = ("ca_file", "cert_file", "key_file")
CERT_DIR = "platform-certs"  # in the state directory: only the page writes there
NO_CONNECT = "could not connect"  # what gateway.daemon.probe_broker says for any failure before MQTT
LOCAL_SUFFIXES = (".local", ".lan", ".home", ".home.arpa", ".internal", ".localdomain")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


class HubView(Protocol):
    """What the page needs from the running hub (``gateway.daemon.Hub`` provides it)."""

    config: Config
    state_dir: Path

    def status(self) -> dict[str, Any]: ...
    def recent_events(self) -> list[dict[str, Any]]: ...
    def subscribe(self) -> asyncio.Queue[dict[str, Any]]: ...
    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None: ...
    def heard_codes(self, after: int) -> list[dict[str, Any]]: ...
    async def scan_wearables(self, seconds: float) -> list[dict[str, Any]]: ...
    async def apply_config(self, new: Config, actor: str) -> list[str]: ...
    async def send_test_alarm(self, actor: str) -> str: ...
    def alert(self, alert_id: str) -> AlertRow | None: ...
    async def probe_platform(self, platform: PlatformConfig) -> tuple[bool, str]: ...


# Offered (not imposed) in the room field: the catalogue's rooms, translated on the page.
KNOWN_ROOMS = sorted(k.split(".", 1)[1] for k in i18n.catalogue(i18n.DEFAULT) if k.startswith("room."))

HUB = web.AppKey("hub", HubView)
CREDENTIALS = web.AppKey("credentials", Credentials)
SESSIONS = web.AppKey("sessions", Sessions)
LIMITER = web.AppKey("limiter", LoginLimiter)
AUDIT = web.AppKey("audit", AuditLog)
COUNTERS = web.AppKey("counters", Counter[str])
SECURE = web.AppKey("secure_cookies", bool)
HOSTNAME = web.AppKey("hostname", str)
JINJA = web.AppKey("jinja", jinja2.Environment)
# One password hash at a time: each takes 19 MiB, and a burst of logins must not exhaust a Pi's memory.
HASHING = web.AppKey("hashing", asyncio.Semaphore)
LOG_ONCE = web.AppKey("log_once", LogOnce)
STREAMS = web.AppKey("streams", StreamSlots)
# "Test connection" opens a connection from the hub to any host and port typed in: a few a minute.
PROBES = web.AppKey("probes", RateLimit)
PROBES_PER_MIN = 5
PAGES = web.AppKey("pages", frozenset[str])  # where /lang may send a browser back to


def make_app(hub: HubView) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST, middlewares=[guard, authenticate])
    app[HUB] = hub
    app[CREDENTIALS] = Credentials(hub.state_dir)
    app[SESSIONS] = Sessions(idle_s=hub.config.web.session_idle_min * 60)
    app[LIMITER] = LoginLimiter()
    app[HASHING] = asyncio.Semaphore(1)
    app[AUDIT] = AuditLog(hub.state_dir)
    app[COUNTERS] = Counter()
    app[LOG_ONCE] = LogOnce(log)
    app[STREAMS] = StreamSlots()
    app[PROBES] = RateLimit(PROBES_PER_MIN, 60.0)
    app[SECURE] = hub.config.web.https
    app[HOSTNAME] = socket.gethostname().lower()
    app[JINJA] = jinja2.Environment(
        loader=jinja2.PackageLoader("gateway.web", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    r = app.router
    r.add_get("/", home)
    r.add_get("/setup", setup_page)
    r.add_post("/setup", setup_post)
    r.add_get("/login", login_page)
    r.add_post("/login", login_post)
    r.add_post("/logout", logout_post)
    r.add_get("/lang", lang_switch)
    r.add_get("/status", status_page)
    r.add_get("/events", events_stream)
    r.add_get("/devices", devices_page)
    r.add_post("/devices/radios", radios_post)
    r.add_get("/devices/learn", learn_page)
    r.add_get("/api/heard", heard_api)
    r.add_get("/devices/sensor", sensor_form)
    r.add_post("/devices/sensor", sensor_post)
    r.add_get("/devices/wearable", wearable_form)
    r.add_post("/devices/wearable", wearable_post)
    r.add_post("/api/scan", scan_api)
    r.add_get("/devices/remove", remove_page)
    r.add_post("/devices/remove", remove_post)
    r.add_get("/settings", settings_page)
    r.add_post("/settings", settings_post)
    r.add_get("/platform", platform_page)
    r.add_post("/platform", platform_post)
    r.add_post("/platform/certificates", certificates_post)
    r.add_get("/alarm", alarm_page)
    r.add_post("/alarm", alarm_post)
    r.add_get("/api/alerts/{alert_id}", alert_api)
    r.add_get("/audit", audit_page)
    r.add_static("/static/", Path(__file__).with_name("static"), show_index=False, follow_symlinks=False)
    # Plain page paths only: the live stream, the scripts' endpoints and /lang itself are no place to land.
    app[PAGES] = frozenset(
        info["path"] for res in r.resources() if "path" in (info := res.get_info())
        if any(route.method == "GET" for route in res)
        and not info["path"].startswith(("/api/", "/static")) and info["path"] not in ("/lang", "/events")
    )
    return app


# --- middlewares ----------------------------------------------------------------------


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
                log.warning("web.too_large", path=request.path, peer=peer)
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
            log.warning("web.csrf_refused", path=request.path, peer=request.remote)
            raise web.HTTPForbidden(text=_plain(request, "http.expired"))
    return await handler(request)


# --- rendering --------------------------------------------------------------------------


def _plain(request: web.Request, key: str) -> str:
    """A short plain-text answer (errors, refusals) in the page's language."""
    return i18n.translate(_lang(request), key) + "\n"


def _lang(request: web.Request) -> str:
    return i18n.pick(request.cookies.get(i18n.COOKIE), request.headers.get("Accept-Language"))


def _session(request: web.Request) -> Session | None:
    return request.app[SESSIONS].get(request.cookies.get(SESSION_COOKIE), request.app[CREDENTIALS].password_hash())


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/status")


def _t(request: web.Request) -> Callable[..., str]:
    lang = _lang(request)
    return lambda key, **kw: i18n.translate(lang, key, **kw)


def render(request: web.Request, template: str, status: int = 200, **ctx: Any) -> web.Response:
    env: jinja2.Environment = request.app[JINJA]
    session: Session | None = _session(request)
    flash = session.flash if session else []
    t = _t(request)
    html = env.get_template(template).render(
        t=t, lang=_lang(request), path=request.path, session=session,
        csrf=session.csrf if session else ctx.pop("pre_csrf", ""),
        flash=list(flash), when=_when, field_help=field_help, rooms=KNOWN_ROOMS,
        label=lambda prefix, value: _label(t, prefix, value),
        event_text=lambda ev: event_text(t, ev),
        **ctx,
    )
    if session is not None:
        flash.clear()
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _when(wall: float | None) -> str:
    if wall is None:
        return "—"
    return datetime.fromtimestamp(wall).strftime("%Y-%m-%d %H:%M:%S")


def field_help(t: Callable[..., str], f: FormField) -> str:
    parts = [t(f"field.{f.path}.help")]
    if f.min is not None and f.max is not None:
        parts.append(t("form.range", min=f"{f.min:g}", max=f"{f.max:g}", unit=_unit(t, f)))
    return " ".join(p for p in parts if p).strip()


def _unit(t: Callable[..., str], f: FormField) -> str:
    return " " + t(f"unit.{f.unit}") if f.unit else ""


def event_text(t: Callable[..., str], ev: Mapping[str, Any]) -> str:
    """One live event in the page's language, built from its fields rather than its English text."""
    kind = ev.get("kind", "")
    d = ev.get("detail") or {}
    if kind == "motion":
        return t("event.motion" if d.get("active", True) else "event.motion_end")
    if kind == "button":
        return t(f"event.button.{d.get('action', 'help')}")
    if kind == "finding":
        return t("event.finding", what=_label(t, "finding", d.get("type", "")), state=t(f"state.{d.get('state', '')}"))
    if kind == "alert":
        return t("event.alert", id=str(ev.get("alert_id", ""))[:8], state=t(f"state.{ev.get('state', '')}"))
    if kind == "status":
        parts = []
        for key, value in d.items():
            msg = f"event.status.{key}.{str(value).lower()}" if isinstance(value, bool) else f"event.status.{key}"
            text = t(msg, value=f"{value:g}" if isinstance(value, float) else value)
            parts.append(f"{key}={value}" if text == msg else text)  # a reading this page does not know yet
        return t("event.status", detail=", ".join(parts))
    if kind == "vital":
        return t("event.vital", bpm=d.get("heart_rate_bpm", "?"))
    if "active" in d:
        return t("event.contact", kind=_label(t, "kind", kind), state=t("event.on" if d["active"] else "event.off"))
    return str(ev.get("text", kind))


def _label(t: Callable[..., str], prefix: str, value: Any) -> str:
    """A known room, kind or finding type in the page's language; anything else (a room the
    installer invented) as it is."""
    text = t(f"{prefix}.{value}")
    return str(value) if text == f"{prefix}.{value}" else text


def _error_text(t: Callable[..., str], f: FormField | None, e: FieldError) -> str:
    """An error in the page's language, built from the field's constraints where they say it."""
    if e.value == "<missing>":
        return t("error.required")
    if f is not None:
        if f.kind in ("int", "float") and f.min is not None and f.max is not None:
            return t("error.range", min=f"{f.min:g}", max=f"{f.max:g}", unit=_unit(t, f))
        if f.kind in ("int", "float"):
            return t("error.number")
        if f.kind == "choice":
            return t("error.choice")
        if f.pattern and "already used" not in e.allowed and "together" not in e.allowed:
            return t(f"field.{f.path}.format")
    if "already used" in e.allowed:
        return t("error.duplicate")
    return t("error.other", reason=e.allowed)


def _errors_for(request: web.Request, fields: list[FormField], errors: dict[str, list[FieldError]],
                prefix: str = "") -> dict[str, list[str]]:
    t = _t(request)
    by_path = {prefix + f.path: f for f in fields} | {f.path: f for f in fields}
    out: dict[str, list[str]] = {}
    for path, errs in errors.items():
        f = by_path.get(path)
        key = f.path if f is not None else "_form"
        out.setdefault(key, []).extend(_error_text(t, f, e) for e in errs)
    return out


def _values(fields: list[FormField], source: Any, posted: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What each input shows: the posted text after an error, else the saved value (never a secret)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind == "secret":
            out[f.path] = ""
        elif posted is not None:
            out[f.path] = (posted.get(f.path) in ("on", "true", "1")) if f.kind == "bool" else posted.get(f.path, "")
        else:
            value = forms.value_of(source, f.path) if source is not None else f.default
            if isinstance(value, float):
                value = f"{value:g}"  # 45, not 45.0
            out[f.path] = "" if value is None else value
    return out


def _actor(request: web.Request) -> str:
    return f"technician@{request.remote}"


def _flash(request: web.Request, key: str, **values: Any) -> None:
    session: Session | None = _session(request)
    if session is not None:
        session.flash.append(_t(request)(key, **values))


async def _save(request: web.Request, new: Config, action: str) -> list[str]:
    hub: HubView = request.app[HUB]
    old = hub.config
    restart = await hub.apply_config(new, _actor(request))
    changed = changes(to_data(old), to_data(new), forms.SECRETS)
    await asyncio.to_thread(request.app[AUDIT].record, _actor(request), action, changed)
    if restart:
        _flash(request, "flash.saved_restart", keys=", ".join(restart))
    elif changed:
        _flash(request, "flash.saved")
    else:
        _flash(request, "flash.unchanged")
    return restart


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form as text fields; uploads are read separately."""
    data = await request.post()
    out = {k: v for k, v in data.items() if isinstance(v, str)}
    out["_bool"] = ",".join(v for v in data.getall("_bool", []) if isinstance(v, str))
    return out


# --- setup, login, language ----------------------------------------------------------------


def _pre_csrf(request: web.Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)


def _with_pre_cookie(request: web.Request, response: web.Response, token: str) -> web.Response:
    response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="Strict", path="/",
                        secure=request.app[SECURE])
    return response


async def _check_pre_csrf(request: web.Request, form: Mapping[str, str]) -> None:
    cookie = request.cookies.get(PRE_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), form.get("csrf", "").encode()):
        request.app[COUNTERS]["csrf_refused"] += 1
        log.warning("web.csrf_refused", path=request.path, peer=request.remote)
        raise web.HTTPForbidden(text=_plain(request, "http.expired"))


def _start_session(request: web.Request, location: str) -> web.Response:
    creds: Credentials = request.app[CREDENTIALS]
    session = request.app[SESSIONS].create(request.remote or "", creds.password_hash() or "")
    response = web.HTTPSeeOther(location)
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="Strict", path="/",
                        secure=request.app[SECURE])
    response.del_cookie(PRE_COOKIE, path="/")
    raise response


def _limited(request: web.Request, template: str, token: str, **ctx: Any) -> web.Response | None:
    wait = request.app[LIMITER].retry_after(request.remote or "")
    if wait <= 0:
        return None
    request.app[COUNTERS]["login_refused"] += 1
    log.warning("web.login_locked", peer=request.remote, retry_after_s=round(wait))
    response = render(request, template, status=429, pre_csrf=token,
                      error=_t(request)("login.error.locked", minutes=max(1, round(wait / 60))), **ctx)
    response.headers["Retry-After"] = str(int(wait) + 1)
    return response


async def _login_form(request: web.Request, template: str) -> tuple[dict[str, str], str, web.Response | None]:
    """A posted setup or login form: its fields, its CSRF token, and a 429 page if this peer must wait."""
    form = await _form(request)
    await _check_pre_csrf(request, form)
    token = form["csrf"]
    return form, token, _limited(request, template, token)


def _failed(request: web.Request, what: str) -> None:
    request.app[LIMITER].failed(request.remote or "")
    request.app[COUNTERS][what] += 1
    log.warning(f"web.{what}", peer=request.remote, count=request.app[COUNTERS][what])


async def setup_page(request: web.Request) -> web.Response:
    creds: Credentials = request.app[CREDENTIALS]
    if creds.password_set():
        raise web.HTTPSeeOther("/login")
    await asyncio.to_thread(creds.ensure_setup_code)
    token = _pre_csrf(request)
    return _with_pre_cookie(request, render(request, "setup.html", pre_csrf=token, error=None), token)


async def setup_post(request: web.Request) -> web.Response:
    creds: Credentials = request.app[CREDENTIALS]
    if creds.password_set():
        raise web.HTTPSeeOther("/login")
    form, token, limited = await _login_form(request, "setup.html")
    if limited is not None:
        return limited
    t = _t(request)
    async with request.app[HASHING]:
        # Checked again in the slot: attempts queued behind a lockout, or behind the set-up that won.
        limited = _limited(request, "setup.html", token)
        if limited is not None:
            return limited
        if creds.password_set():
            raise web.HTTPSeeOther("/login")
        if not creds.check_setup_code(form.get("code", "")):
            _failed(request, "setup_code_wrong")
            return render(request, "setup.html", status=400, pre_csrf=token, error=t("setup.error.code"))
        problem = password_problem(form.get("password", ""), form.get("repeat", ""))
        if problem is not None:
            return render(request, "setup.html", status=400, pre_csrf=token, error=t(problem))
        await asyncio.to_thread(creds.set_password, form["password"])
    request.app[LIMITER].succeeded(request.remote or "")
    await asyncio.to_thread(request.app[AUDIT].record, _actor(request), "password_set", [])
    log.info("web.password_set", peer=request.remote)
    return _start_session(request, "/status")


async def login_page(request: web.Request) -> web.Response:
    creds: Credentials = request.app[CREDENTIALS]
    if not creds.password_set():
        raise web.HTTPSeeOther("/setup")
    if _session(request) is not None:
        raise web.HTTPSeeOther("/status")
    token = _pre_csrf(request)
    return _with_pre_cookie(request, render(request, "login.html", pre_csrf=token, error=None), token)


async def login_post(request: web.Request) -> web.Response:
    creds: Credentials = request.app[CREDENTIALS]
    form, token, limited = await _login_form(request, "login.html")
    if limited is not None:
        return limited
    password = form.get("password", "")
    async with request.app[HASHING]:
        limited = _limited(request, "login.html", token)  # queued behind the attempt that locked this peer out
        if limited is not None:
            return limited
        ok = len(password) <= 1024 and await asyncio.to_thread(creds.verify, password)
        if not ok:
            _failed(request, "login_failed")
    if not ok:
        return render(request, "login.html", status=401, pre_csrf=token, error=_t(request)("login.error.wrong"))
    request.app[LIMITER].succeeded(request.remote or "")
    log.info("web.login", peer=request.remote)
    return _start_session(request, "/status")


async def logout_post(request: web.Request) -> web.Response:
    request.app[SESSIONS].end(request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def lang_switch(request: web.Request) -> web.Response:
    lang = request.query.get("to", "")
    # The target is one of this page's own paths, chosen from the routes, never the text sent
    # (browsers drop tabs and newlines from a Location, so "/\t/evil.com" would become "//evil.com").
    wanted = request.query.get("next", "")
    target = wanted if wanted in request.app[PAGES] else "/status"
    response = web.HTTPSeeOther(target)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="Strict", path="/",
                            secure=request.app[SECURE])
    raise response


# --- status and live events ------------------------------------------------------------


async def status_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    template = "status_summary.html" if request.query.get("part") == "summary" else "status.html"
    return render(request, template, status_data=hub.status(), events=list(reversed(hub.recent_events())),
                  config=hub.config)


async def events_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: each new hub event, as JSON with its text in the page's language.

    A few streams per login and a bounded number in all (``StreamSlots``): each
    holds a connection and a queue, and one session once opened 400.
    """
    hub: HubView = request.app[HUB]
    session = _session(request)
    assert session is not None  # the middleware let only logged-in browsers through
    streams: StreamSlots = request.app[STREAMS]
    q = hub.subscribe()
    if not streams.open(session.token, q):
        hub.unsubscribe(q)
        request.app[COUNTERS]["streams_refused"] += 1
        request.app[LOG_ONCE].warning("web.streams_full", open=len(streams))
        raise web.HTTPServiceUnavailable(text=_plain(request, "http.busy"), headers={"Retry-After": "30"})
    t = _t(request)
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "X-Accel-Buffering": "no",
    })
    try:
        await response.prepare(request)
        await response.write(b": hello\n\n")
        while True:
            try:
                ev = await asyncio.wait_for(q.get(), 15.0)
            except TimeoutError:
                if _session(request) is None:  # logged out, expired, or the password was reset
                    break
                await response.write(b": keepalive\n\n")  # also notices a browser that went away
                continue
            if ev is CLOSE_STREAM:  # this session opened a newer stream
                break
            room = ev.get("room")
            body = {"when": _when(ev.get("wall")), "device": ev.get("device"), "kind": ev.get("kind"),
                    "room": _label(t, "room", room) if room else None, "text": event_text(t, ev)}
            await response.write(f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        streams.close(q)
        hub.unsubscribe(q)
    return response


# --- devices -----------------------------------------------------------------------------


async def devices_page(request: web.Request, errors: dict[str, list[str]] | None = None,
                       posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    hub: HubView = request.app[HUB]
    seen = {d["id"]: d for d in hub.status()["devices"]}
    return render(request, "devices.html", status=status, config=hub.config, seen=seen,
                  fields=forms.RADIO_FIELDS, values=_values(forms.RADIO_FIELDS, hub.config, posted),
                  errors=errors or {})


async def _settings_post(request: web.Request, fields: list[FormField],
                         page: Callable[..., Awaitable[web.Response]], action: str, back: str) -> web.Response:
    """A settings form: validated whole, saved and applied, or shown again with its errors."""
    hub: HubView = request.app[HUB]
    form = await _form(request)
    try:
        new = forms.submit(hub.config, fields, form)
    except FormErrors as exc:
        return await page(request, _errors_for(request, fields, exc.errors), form, 400)
    await _save(request, new, action)
    raise web.HTTPSeeOther(back)


async def radios_post(request: web.Request) -> web.Response:
    return await _settings_post(request, forms.RADIO_FIELDS, devices_page, "radios", "/devices")


async def learn_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    heard = hub.heard_codes(0)
    start = heard[-1]["seq"] if heard else 0
    return render(request, "learn.html", start=start, rflink_enabled=hub.config.rflink.enabled,
                  rflink=hub.status().get("rflink"))


async def heard_api(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text=_plain(request, "http.bad_request")) from None
    t = _t(request)
    codes = [{**c, "when": _when(c["wall"]), "known_as": c.get("device"),
              "add_url": "/devices/sensor?" + urlencode({"protocol": c["protocol"], "address": c["address"],
                                                         "switch": c["switch"]})}
             for c in hub.heard_codes(after)]
    return web.json_response({"codes": codes, "known": t("learn.known")})


def _device(cfg: Config, section: str, item_id: str | None) -> Any:
    if not item_id:
        return None
    return next((d for d in getattr(cfg, section) if d.id == item_id), None)


async def _device_form(request: web.Request, section: str, fields: list[FormField], kind: str,
                       prefill: Callable[[dict[str, Any]], None], errors: dict[str, list[str]] | None,
                       posted: Mapping[str, str] | None, status: int) -> web.Response:
    """Add (prefilled from what was heard or found) or edit one device."""
    hub: HubView = request.app[HUB]
    original = (posted or request.query).get("original", "")
    device = _device(hub.config, section, original)
    if original and device is None:
        raise web.HTTPNotFound(text=_plain(request, "http.no_device"))
    values = _values(fields, device, posted)
    if device is None and posted is None:
        values["id"] = ""
        prefill(values)
    return render(request, "device_form.html", status=status, fields=fields, values=values,
                  errors=errors or {}, original=original, section=kind)


async def sensor_form(request: web.Request, errors: dict[str, list[str]] | None = None,
                      posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    def heard(values: dict[str, Any]) -> None:  # from the learn page: the code the radio heard
        for key in ("protocol", "address", "switch"):
            values[key] = request.query.get(key, "")[:64]
        values["room"] = ""

    return await _device_form(request, "devices", forms.DEVICE_FIELDS, "sensor", heard, errors, posted, status)


async def sensor_post(request: web.Request) -> web.Response:
    return await _item_post(request, "devices", forms.DEVICE_FIELDS, sensor_form)


async def wearable_form(request: web.Request, errors: dict[str, list[str]] | None = None,
                        posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    def found(values: dict[str, Any]) -> None:  # from the scan: the advert's address and name
        values["address"] = request.query.get("address", "")[:17]
        values["name"] = request.query.get("name", "")[:64]

    return await _device_form(request, "wearables", forms.WEARABLE_FIELDS, "wearable", found, errors, posted,
                              status)


async def wearable_post(request: web.Request) -> web.Response:
    return await _item_post(request, "wearables", forms.WEARABLE_FIELDS, wearable_form)


async def _item_post(request: web.Request, section: Any, fields: list[FormField],
                     form_view: Callable[..., Awaitable[web.Response]]) -> web.Response:
    hub: HubView = request.app[HUB]
    form = await _form(request)
    original = form.get("original", "") or None
    if original and _device(hub.config, section, original) is None:
        raise web.HTTPNotFound(text=_plain(request, "http.no_device"))
    try:
        new = forms.with_item(hub.config, section, forms.parse(fields, form), original)
    except FormErrors as exc:
        return await form_view(request, _errors_for(request, fields, exc.errors), form, 400)
    await _save(request, new, f"{section}.{'edit' if original else 'add'}")
    raise web.HTTPSeeOther("/devices")


async def scan_api(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    t = _t(request)
    if not hub.config.ble.enabled:
        return web.json_response({"error": t("scan.ble_off"), "found": []})
    try:
        found = await hub.scan_wearables(8.0)
    except Exception as exc:  # the radio's problem, said plainly; the page keeps working
        log.warning("web.scan_failed", error=str(exc))
        return web.json_response({"error": t("scan.failed", reason=str(exc)[:200]), "found": []})
    known = {w.address.upper(): w.id for w in hub.config.wearables}
    rows = [{**f, "known_as": known.get(f["address"].upper()),
             "add_url": "/devices/wearable?" + urlencode({"address": f["address"], "name": f.get("name") or ""})}
            for f in found]
    return web.json_response({"error": None, "found": rows})


def _section(request: web.Request, kind: str) -> str:
    if kind not in ("sensor", "wearable"):
        raise web.HTTPNotFound(text=_plain(request, "http.no_device"))
    return "devices" if kind == "sensor" else "wearables"


async def remove_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    kind = request.query.get("kind", "")
    device = _device(hub.config, _section(request, kind), request.query.get("id", ""))
    if device is None:
        raise web.HTTPNotFound(text=_plain(request, "http.no_device"))
    return render(request, "remove.html", device=device, kind=kind)


async def remove_post(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    form = await _form(request)
    section = _section(request, form.get("kind", ""))
    item_id = form.get("id", "")
    if _device(hub.config, section, item_id) is None:
        raise web.HTTPNotFound(text=_plain(request, "http.no_device"))
    await _save(request, forms.without_item(hub.config, section, item_id), f"{section}.remove")
    raise web.HTTPSeeOther("/devices")


# --- settings and platform -----------------------------------------------------------------


async def settings_page(request: web.Request, errors: dict[str, list[str]] | None = None,
                        posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    hub: HubView = request.app[HUB]
    return render(request, "settings.html", status=status, fields=forms.DETECTION_FIELDS,
                  values=_values(forms.DETECTION_FIELDS, hub.config, posted), errors=errors or {})


async def settings_post(request: web.Request) -> web.Response:
    return await _settings_post(request, forms.DETECTION_FIELDS, settings_page, "settings", "/settings")


def _cert_info(path: str) -> str | None:
    if not path:
        return None
    from cryptography import x509  # only when certificates are in use: it costs ~8 MB

    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
        c = certs[0]
        return f"{c.subject.rfc4514_string()[:80]}, valid to {c.not_valid_after_utc:%Y-%m-%d}"
    except (OSError, ValueError):
        return Path(path).name


async def platform_page(request: web.Request, errors: dict[str, list[str]] | None = None,
                        posted: Mapping[str, str] | None = None, status: int = 200,
                        probe: tuple[bool, str] | None = None) -> web.Response:
    hub: HubView = request.app[HUB]
    p = hub.config.platform
    return render(request, "platform.html", status=status, fields=forms.PLATFORM_FIELDS,
                  values=_values(forms.PLATFORM_FIELDS, hub.config, posted), errors=errors or {},
                  probe=probe, password_set=bool(p.password),
                  certs={"ca_file": _cert_info(p.ca_file), "cert_file": _cert_info(p.cert_file),
                         "key_file": Path(p.key_file).name if p.key_file else None},
                  connection=hub.status()["platform"])


async def platform_post(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    form = await _form(request)
    try:
        new = forms.submit(hub.config, forms.PLATFORM_FIELDS, form)
    except FormErrors as exc:
        return await platform_page(request, _errors_for(request, forms.PLATFORM_FIELDS, exc.errors), form, 400)
    if form.get("action") == "test":
        return await _test_connection(request, new.platform, form)
    try:
        await _save(request, new, "platform")
    except ConfigError as exc:  # TLS files that cannot be loaded: refused before saving
        found: dict[str, list[FieldError]] = {}
        for e in exc.errors:
            found.setdefault(e.path, []).append(e)
        return await platform_page(request, _errors_for(request, forms.PLATFORM_FIELDS, found), form, 400)
    raise web.HTTPSeeOther("/platform")


async def _test_connection(request: web.Request, tested: PlatformConfig, form: Mapping[str, str]) -> web.Response:
    """Tests what is in the form, saved or not, without making the hub a tool against its secrets or its LAN.

    The saved password goes only to the saved broker: a login to the page must not be
    able to send it to a listener of its choosing. Every failure before the MQTT
    handshake reads the same, and tests are rate-limited, so the page is no port scanner.
    """
    hub: HubView = request.app[HUB]
    t = _t(request)
    saved = hub.config.platform
    typed = bool(form.get("platform.password", ""))
    if saved.password and not typed and (tested.host, tested.port, tested.tls) != (saved.host, saved.port, saved.tls):
        request.app[COUNTERS]["platform_test_needs_password"] += 1
        return await platform_page(request, posted=form, status=400,
                                   probe=(False, t("platform.test_password_again")))
    wait = request.app[PROBES].retry_after()
    if wait > 0:
        request.app[COUNTERS]["platform_test_refused"] += 1
        response = await platform_page(request, posted=form, status=429,
                                       probe=(False, t("platform.test_too_often", seconds=math.ceil(wait))))
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    ok, detail = await hub.probe_platform(tested)
    request.app[COUNTERS]["platform_tests"] += 1
    if not ok and detail == NO_CONNECT:
        detail = t("platform.test_no_connect")
    return await platform_page(request, posted=form, probe=(ok, detail))


def _check_pem(name: str, data: bytes) -> str | None:
    """A message key when an uploaded file is not what its slot needs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        if name == "key_file":
            serialization.load_pem_private_key(data, password=None)
        else:
            x509.load_pem_x509_certificates(data)
    except TypeError:
        return "certs.error.encrypted"
    except ValueError:
        return "certs.error.not_pem_key" if name == "key_file" else "certs.error.not_pem_cert"
    return None


async def certificates_post(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    t = _t(request)
    data = await request.post()
    uploads: dict[str, bytes] = {}
    errors: dict[str, list[str]] = {}
    for name in CERT_NAMES:
        item = data.get(name)
        if item is None or isinstance(item, str):
            continue
        content = item.file.read(MAX_PEM + 1)
        if not content:
            continue
        if len(content) > MAX_PEM:
            errors.setdefault(name, []).append(t("certs.error.too_big", kb=MAX_PEM // 1024))
            continue
        problem = _check_pem(name, content)
        if problem is not None:
            errors.setdefault(name, []).append(t(problem))
            continue
        uploads[name] = content
    removals = [name for name in CERT_NAMES if data.get(f"remove_{name}") == "on"]
    if errors or not (uploads or removals):
        if not errors:
            errors["_certs"] = [t("certs.error.nothing")]
        return await platform_page(request, errors=errors, status=400)
    directory = hub.state_dir / CERT_DIR
    changes_: dict[str, str] = {name: "" for name in removals}
    written: list[Path] = []
    for name, content in uploads.items():
        # A new name for new content: the files the uplink uses now are not touched until the
        # combined settings are valid and saved.
        target = directory / f"{name.removesuffix('_file')}-{hashlib.sha256(content).hexdigest()[:16]}.pem"
        if not target.exists():
            await asyncio.to_thread(write_atomic, target, content, 0o600)
            written.append(target)
        changes_[name] = str(target)
    try:
        new = forms.apply(hub.config, {"platform": changes_})
    except FormErrors as exc:
        # e.g. a client certificate without its key: say so, change nothing.
        await asyncio.to_thread(_remove, written)
        shown = {("_certs" if p.split(".")[-1] not in CERT_NAMES else p.split(".")[-1]):
                 [t("error.other", reason=e.allowed) for e in errs] for p, errs in exc.errors.items()}
        return await platform_page(request, errors=shown, status=400)
    try:
        await _save(request, new, "platform.certificates")
    except ConfigError as exc:  # files the TLS library refuses (the hub checks before saving)
        await asyncio.to_thread(_remove, written)
        return await platform_page(request, status=400, errors={
            "_certs": [t("error.other", reason=e.allowed) for e in exc.errors]})
    except BaseException:
        await asyncio.to_thread(_remove, written)
        raise
    # A removed key must not stay on the disk, nor the versions replaced just now.
    await asyncio.to_thread(_remove_unused_certs, directory, new.platform)
    raise web.HTTPSeeOther("/platform")


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _remove_unused_certs(directory: Path, p: PlatformConfig) -> None:
    """Files the page stored that the saved settings no longer name."""
    in_use = {Path(x) for x in (p.ca_file, p.cert_file, p.key_file) if x}
    try:
        stored = [f for f in directory.iterdir() if f.suffix == ".pem" and f.is_file()]
    except OSError:
        return
    _remove([f for f in stored if f not in in_use])


# --- test alarm and audit ---------------------------------------------------------------------


async def alarm_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    alert_id = request.query.get("id", "")
    row = hub.alert(alert_id) if alert_id else None
    if alert_id and (row is None or not row.test):
        raise web.HTTPNotFound(text=_plain(request, "http.no_alarm"))
    return render(request, "alarm.html", alert=_alert_view(row) if row else None,
                  connection=hub.status()["platform"])


async def alarm_post(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    alert_id = await hub.send_test_alarm(_actor(request))
    await asyncio.to_thread(request.app[AUDIT].record, _actor(request), "test_alarm",
                            [{"path": "alert", "old": None, "new": alert_id}])
    raise web.HTTPSeeOther("/alarm?" + urlencode({"id": alert_id}))


def _alert_view(row: AlertRow) -> dict[str, Any]:
    return {
        "id": row.id, "state": row.state, "raised": _when(row.raised_wall),
        "published": _when(row.first_published_wall), "acked": _when(row.acked_wall),
        "acked_by": row.acked_by or "",
        "ack_after_s": round(row.acked_wall - row.raised_wall, 2) if row.acked_wall else None,
    }


async def alert_api(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    row = hub.alert(request.match_info["alert_id"][:64])
    if row is None or not row.test:
        raise web.HTTPNotFound(text=_plain(request, "http.no_alarm"))
    view = _alert_view(row)
    t = _t(request)
    view["state_text"] = t(f"state.{row.state}")
    view["acked_text"] = t("alarm.acked", when=view["acked"], after=view["ack_after_s"],
                           by=view["acked_by"]) if row.acked_wall else ""
    return web.json_response(view)


async def audit_page(request: web.Request) -> web.Response:
    entries = await asyncio.to_thread(request.app[AUDIT].recent, 50)
    return render(request, "audit.html", entries=entries)


def web_counters(app: web.Application) -> dict[str, int]:
    counters: Counter[str] = app[COUNTERS]
    return dict(counters) | {"login_refused_total": app[LIMITER].refused}


__all__ = ["HubView", "make_app", "web_counters"]
