"""Setting the hub up with its one-time code, logging in and out, and the language switch."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any

import structlog
from aiohttp import web

from gateway.web import i18n
from gateway.web.core import (
    AUDIT,
    COUNTERS,
    CREDENTIALS,
    HASHING,
    LIMITER,
    LOG_ONCE,
    PAGES,
    PRE_COOKIE,
    SECURE,
    SESSION_COOKIE,
    SESSIONS,
    _actor,
    _form,
    _plain,
    _session,
    _t,
    render,
)
from gateway.web.security import Credentials, password_problem

log = structlog.get_logger("carehub.web")


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
        request.app[LOG_ONCE].warning("web.csrf_refused", path=request.path, peer=request.remote)
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
    # Every attempt during a lockout is counted; one line a minute says so.
    request.app[LOG_ONCE].warning("web.login_locked", peer=request.remote, retry_after_s=round(wait))
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
