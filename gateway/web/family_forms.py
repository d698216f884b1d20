"""Adding and editing the other sensor families on the page: Zigbee2MQTT devices, rtl_433 devices, radars.

The same form and the same path as an RFLink sensor (``gateway/web/devices.py``):
prefilled from learn mode, validated by the config schema with every other
device in the file (ids and friendly names unique), saved, applied live and
audited. A generic 433 MHz code (rtl_433's ``Generic-Remote``) is first learnt
in steps (``rtl433_codes``): the installer opens the door, the hub notes the
code it heard; closes it, the hub notes the other; the form then carries both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.web import forms
from gateway.web.core import HUB, HubView, _t, render
from gateway.web.devices import _device_form, _item_post
from gateway.web.learn_pages import KINDS, identity

TWO_STATES = ("door", "cabinet", "fridge", "bed", "seat")  # opened and closed, occupied and left
STEP_CODES_KEPT = 4  # codes a step may learn (a sensor that sends two for one state, e.g. tamper)


def _query_into(request: web.Request, values: dict[str, Any], fields: list[forms.FormField],
                keys: tuple[str, ...]) -> None:
    """Prefill from learn mode's link: only known fields, choices only from their choices."""
    by_path = {f.path: f for f in fields}
    for key in keys:
        raw = request.query.get(key)
        f = by_path.get(key)
        if raw is None or f is None:
            continue
        raw = raw[:120]
        if f.kind == "choice" and raw not in f.choices:
            continue
        values[key] = [c for c in raw.split(",") if c][:STEP_CODES_KEPT] if f.kind == "list" else raw
    values["room"] = ""  # chosen by the installer, never guessed


async def zigbee_form(request: web.Request, errors: dict[str, list[str]] | None = None,
                      posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    def heard(values: dict[str, Any]) -> None:
        _query_into(request, values, forms.ZIGBEE_FIELDS, ("friendly_name", "kind"))

    return await _device_form(request, "zigbee_devices", forms.ZIGBEE_FIELDS, "zigbee", heard, errors, posted,
                              status)


async def zigbee_post(request: web.Request) -> web.Response:
    return await _item_post(request, "zigbee_devices", forms.ZIGBEE_FIELDS, zigbee_form)


async def rtl433_form(request: web.Request, errors: dict[str, list[str]] | None = None,
                      posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    def heard(values: dict[str, Any]) -> None:
        _query_into(request, values, forms.RTL433_FIELDS, ("model", "address", "channel", "subtype", "kind",
                                                           "active_codes", "inactive_codes"))

    return await _device_form(request, "rtl433_devices", forms.RTL433_FIELDS, "rtl433", heard, errors, posted,
                              status)


async def rtl433_post(request: web.Request) -> web.Response:
    return await _item_post(request, "rtl433_devices", forms.RTL433_FIELDS, rtl433_form)


async def radar_form(request: web.Request, errors: dict[str, list[str]] | None = None,
                     posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    def probed(values: dict[str, Any]) -> None:
        _query_into(request, values, forms.RADAR_FIELDS, ("model", "port"))

    return await _device_form(request, "radars", forms.RADAR_FIELDS, "radar", probed, errors, posted, status)


async def radar_post(request: web.Request) -> web.Response:
    return await _item_post(request, "radars", forms.RADAR_FIELDS, radar_form)


def _codes_since(hub: HubView, ident: dict[str, str], since: int) -> list[str]:
    """The codes this generic sender sent after ``since``, in the order it last sent them: the first is
    what the step asked for (an installer who opened and closed the door before pressing Next sent two)."""
    for e in hub.heard_codes(since):
        if e["family"] == "rtl433" and identity(e) == ident:
            fresh = [c for c in e["codes"] if c["seq"] > since and c["code"] != ""]
            return [c["code"] for c in sorted(fresh, key=lambda c: c["seq"])]
    return []


async def rtl433_codes(request: web.Request) -> web.Response:
    """Learn a generic code's meaning in steps: the code sent when active, then the one when inactive."""
    hub: HubView = request.app[HUB]
    t = _t(request)
    q = request.query
    ident = {k: q.get(k, "")[:64] for k in ("model", "address", "channel", "subtype")}
    kind = q.get("kind", "")
    kind = kind if kind in KINDS["rtl433"] else "door"
    active = [c for c in q.get("active", "").split(",") if c][:STEP_CODES_KEPT]
    step = q.get("step", "")
    since = _int(q.get("since"), 0)
    now = max((e["seq"] for e in hub.heard_codes(0)), default=0)
    message = None
    done = q.get("done")
    if done == "active":
        heard = _codes_since(hub, ident, since)
        if heard:
            active = heard[:1]
            if kind not in TWO_STATES:
                raise web.HTTPSeeOther(_form_url(ident, kind, active, []))
            step, since = "inactive", now
        else:
            message = t("learn.steps.nothing", address=ident["address"])
    elif done == "inactive":
        heard = [c for c in _codes_since(hub, ident, since) if c not in active]
        if heard:
            raise web.HTTPSeeOther(_form_url(ident, kind, active, heard[:1]))
        message = t("learn.steps.same" if _codes_since(hub, ident, since) else "learn.steps.nothing",
                    address=ident["address"])
    if step not in ("active", "inactive"):
        step, since = "kind", now
    return render(request, "learn_steps.html", ident=ident, kind=kind, kinds=KINDS["rtl433"], step=step,
                  since=since if step != "kind" else now, active=",".join(active), message=message,
                  instruction=t(f"learn.steps.{step}.{_state_words(kind)}") if step != "kind" else "")


def _state_words(kind: str) -> str:
    """Which instructions fit the kind: open/close, in/out of bed or seat, walk past, press."""
    if kind in ("door", "cabinet", "fridge"):
        return "door"
    if kind in ("bed", "seat"):
        return "bed"
    return "pir" if kind == "pir" else "press"


def _form_url(ident: dict[str, str], kind: str, active: list[str], inactive: list[str]) -> str:
    query = {**ident, "kind": kind, "active_codes": ",".join(active), "inactive_codes": ",".join(inactive)}
    return "/devices/rtl433?" + urlencode(query)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default
