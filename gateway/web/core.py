"""What every page of the technician's site shares: the hub's view, the application's keys,
rendering in the page's language, and saving a change (validated, applied, audited).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from gateway.config import Config, FieldError, to_data
from gateway.config.schema import PlatformConfig
from gateway.probe import PROBE_NO_CONNECT
from gateway.store import AlertRow
from gateway.web import device_state, forms, i18n
from gateway.web.audit import AuditLog, changes
from gateway.web.forms import FormErrors, FormField
from gateway.web.limits import LogOnce, RateLimit, StreamSlots
from gateway.web.security import Credentials, LoginLimiter, Session, Sessions
from gateway.web.text import _error_text, _label, _when, duration, event_text, field_help, reltime

SESSION_COOKIE = "carehub_session"
PRE_COOKIE = "carehub_pre"  # CSRF token for the setup and login forms, before there is a session
MAX_REQUEST = 256 * 1024  # the largest legitimate post is three PEM files
MAX_PEM = 64 * 1024
PUBLIC_PATHS = ("/setup", "/login", "/lang")  # and everything under /static/
CERT_NAMES = ("ca_file", "cert_file", "key_file")
CERT_DIR = "platform-certs"  # in the state directory: only the page writes there
NO_CONNECT = PROBE_NO_CONNECT  # what "test connection" says for any failure before MQTT
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
    async def probe_radar(self, port: str) -> dict[str, Any]: ...
    def set_maintenance(self, entry: dict[str, Any] | None) -> None: ...
    def day_view(self) -> dict[str, Any]: ...


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


def _plain(request: web.Request, key: str) -> str:
    """A short plain-text answer (errors, refusals) in the page's language."""
    return i18n.translate(_lang(request), key) + "\n"


def _lang(request: web.Request) -> str:
    return i18n.pick(request.cookies.get(i18n.COOKIE), request.headers.get("Accept-Language"))


def _session(request: web.Request) -> Session | None:
    return request.app[SESSIONS].get(request.cookies.get(SESSION_COOKIE), request.app[CREDENTIALS].password_hash())


def _t(request: web.Request) -> Callable[..., str]:
    lang = _lang(request)
    return lambda key, **kw: i18n.translate(lang, key, **kw)


def _t_markup(request: web.Request) -> Callable[..., str]:
    """``_t`` for templates: a value that is already markup (a relative time) stays markup in the text."""
    lang = _lang(request)

    def t(key: str, **kw: Any) -> str:
        if any(isinstance(v, Markup) for v in kw.values()):
            return Markup(escape(i18n.translate(lang, key))).format(**kw)
        return i18n.translate(lang, key, **kw)
    return t


def render(request: web.Request, template: str, status: int = 200, **ctx: Any) -> web.Response:
    env: jinja2.Environment = request.app[JINJA]
    session: Session | None = _session(request)
    flash = session.flash if session else []
    t = _t_markup(request)
    now = time.time()
    html = env.get_template(template).render(
        t=t, lang=_lang(request), path=request.path, session=session,
        csrf=session.csrf if session else ctx.pop("pre_csrf", ""),
        flash=list(flash), when=_when, field_help=field_help, rooms=KNOWN_ROOMS,
        label=lambda prefix, value: _label(t, prefix, value),
        event_text=lambda ev: event_text(t, ev),
        ago=lambda wall: reltime(t, wall, now), dur=lambda seconds: duration(t, seconds),
        ds=device_state.states(t, lambda wall: reltime(t, wall, now)),
        never_help=lambda devices: device_state.never_help(t, devices),
        home_name=request.app[HUB].config.site.name if session is not None else "",
        **ctx,
    )
    if session is not None:
        flash.clear()
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


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
