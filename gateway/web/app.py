"""The technician's page: an aiohttp application served by the hub itself.

Plain server-rendered HTML (Jinja2, autoescaped) with a little JavaScript for
the live parts. Every change goes through the same schema as the TOML file
(``gateway.web.forms``), is saved atomically, applied live by the hub, and
written to the audit log (``gateway.web.core``). This module builds the
application and holds the status, live events, detection settings, test alarm
and audit pages; ``middleware``, ``login``, ``devices`` and ``platform_pages``
hold the rest, ``text`` the words built from data.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import structlog
from aiohttp import web

from gateway.store import AlertRow
from gateway.web import audit_text, day_view, forms
from gateway.web.audit import AuditLog
from gateway.web.core import (
    AUDIT,
    COUNTERS,
    CREDENTIALS,
    HASHING,
    HOSTNAME,
    HUB,
    JINJA,
    LIMITER,
    LOG_ONCE,
    MAX_REQUEST,
    PAGES,
    PROBES,
    PROBES_PER_MIN,
    SECURE,
    SESSIONS,
    STREAMS,
    HubView,
    _actor,
    _lang,
    _plain,
    _session,
    _settings_post,
    _t,
    _values,
    render,
)
from gateway.web.devices import (
    devices_page,
    radios_post,
    remove_page,
    remove_post,
    scan_api,
    sensor_form,
    sensor_post,
    wearable_form,
    wearable_post,
)
from gateway.web.family_forms import (
    radar_form,
    radar_post,
    rtl433_codes,
    rtl433_form,
    rtl433_post,
    zigbee_form,
    zigbee_post,
)
from gateway.web.learn_pages import heard_api, learn_page, radar_probe_post
from gateway.web.limits import CLOSE_STREAM, LogOnce, RateLimit, StreamSlots
from gateway.web.login import lang_switch, login_page, login_post, logout_post, setup_page, setup_post
from gateway.web.middleware import authenticate, guard
from gateway.web.platform_pages import certificates_post, platform_page, platform_post
from gateway.web.sections import sections
from gateway.web.security import Credentials, LoginLimiter, Sessions
from gateway.web.text import _label, _when, duration, event_text
from gateway.web.vitals_page import vitals_page

log = structlog.get_logger("carehub.web")


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
    r.add_post("/devices/learn/radar", radar_probe_post)
    r.add_get("/devices/zigbee", zigbee_form)
    r.add_post("/devices/zigbee", zigbee_post)
    r.add_get("/devices/rtl433", rtl433_form)
    r.add_post("/devices/rtl433", rtl433_post)
    r.add_get("/devices/rtl433/codes", rtl433_codes)
    r.add_get("/devices/radar", radar_form)
    r.add_post("/devices/radar", radar_post)
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
    r.add_get("/vitals", vitals_page)
    r.add_post("/maintenance/end", maintenance_end_post)
    r.add_static("/static/", Path(__file__).with_name("static"), show_index=False, follow_symlinks=False)
    # Plain page paths only: the live stream, the scripts' endpoints and /lang itself are no place to land.
    app[PAGES] = frozenset(
        info["path"] for res in r.resources() if "path" in (info := res.get_info())
        if any(route.method == "GET" for route in res)
        and not info["path"].startswith(("/api/", "/static")) and info["path"] not in ("/lang", "/events")
    )
    return app


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/status")


# --- status and live events

async def status_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    part = request.query.get("part")
    template = {"summary": "status_summary.html", "glance": "status_glance.html"}.get(part or "", "status.html")
    status, day = hub.status(), hub.day_view()
    t = _t(request)
    glance = day_view.summary(status, day, t, lambda prefix, value: _label(t, prefix, value),
                              lambda seconds: duration(t, seconds))
    return render(request, template, status_data=status, events=list(reversed(hub.recent_events())),
                  config=hub.config, day=day, glance=glance, learned_rooms=day_view.rooms_learned(
                      status.get("home_learning")),
                  timeline=day_view.drawn(day, _lang(request), t, lambda prefix, value: _label(t, prefix, value))
                  if template == "status.html" else None)


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
                async with asyncio.timeout(15.0):  # not wait_for: 3.11 can lose a cancel, and an event
                    ev = await q.get()
            except TimeoutError:
                if _session(request) is None:  # logged out, expired, or the password was reset
                    break
                await response.write(b": keepalive\n\n")  # also notices a browser that went away
                continue
            if ev is CLOSE_STREAM:  # this session opened a newer stream
                break
            room = ev.get("room")
            body = {"when": _when(ev.get("wall")), "wall": ev.get("wall"), "ago": t("time.just_now"),
                    "device": ev.get("device"), "kind": ev.get("kind"),
                    "room": _label(t, "room", room) if room else None, "text": event_text(t, ev)}
            await response.write(f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        streams.close(q)
        hub.unsubscribe(q)
    return response


# --- detection settings

async def settings_page(request: web.Request, errors: dict[str, list[str]] | None = None,
                        posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    hub: HubView = request.app[HUB]
    return render(request, "settings.html", status=status, fields=forms.DETECTION_FIELDS,
                  groups=sections(forms.DETECTION_FIELDS),
                  values=_values(forms.DETECTION_FIELDS, hub.config, posted), errors=errors or {})


async def settings_post(request: web.Request) -> web.Response:
    return await _settings_post(request, forms.DETECTION_FIELDS, settings_page, "settings", "/settings")


# --- test alarm and audit

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


async def maintenance_end_post(request: web.Request) -> web.Response:
    """The technician has checked the hub after the platform's maintenance change."""
    hub: HubView = request.app[HUB]
    ended = hub.status().get("maintenance")
    await asyncio.to_thread(hub.set_maintenance, None)
    await asyncio.to_thread(request.app[AUDIT].record, _actor(request), "maintenance.end",
                            [{"path": "maintenance", "old": (ended or {}).get("reason"), "new": None}])
    raise web.HTTPSeeOther("/status")


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
    t = _t(request)
    return render(request, "audit.html", entries=[audit_text.entry_view(t, e) for e in entries])


def web_counters(app: web.Application) -> dict[str, int]:
    counters: Counter[str] = app[COUNTERS]
    return dict(counters) | {"login_refused_total": app[LIMITER].refused}


__all__ = [  # what the server and the tests use, wherever it is defined
    "COUNTERS", "CREDENTIALS", "LIMITER", "LOG_ONCE", "MAX_REQUEST", "PROBES_PER_MIN", "STREAMS", "HubView",
    "make_app", "web_counters",
]
