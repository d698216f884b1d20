"""The devices pages: radios, learning a sensor, adding, editing and removing sensors and wearables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web

from gateway.config import Config
from gateway.config.schema import RflinkDevice
from gateway.web import forms
from gateway.web.core import (
    HUB,
    KNOWN_ROOMS,
    HubView,
    _errors_for,
    _form,
    _plain,
    _save,
    _settings_post,
    _t,
    _values,
    render,
)
from gateway.web.forms import FormErrors, FormField
from gateway.web.rooms import NEW_ROOM, room_choices

log = structlog.get_logger("carehub.web")


async def devices_page(request: web.Request, errors: dict[str, list[str]] | None = None,
                       posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    hub: HubView = request.app[HUB]
    seen = {d["id"]: d for d in hub.status()["devices"]}
    return render(request, "devices.html", status=status, config=hub.config, seen=seen,
                  fields=forms.RADIO_FIELDS, values=_values(forms.RADIO_FIELDS, hub.config, posted),
                  errors=errors or {})


async def radios_post(request: web.Request) -> web.Response:
    return await _settings_post(request, forms.RADIO_FIELDS, devices_page, "radios", "/devices")


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
                  errors=errors or {}, original=original, section=kind,
                  room_choices=room_choices(KNOWN_ROOMS, hub.config, str(values.get("room", ""))),
                  room_typed=(posted or {}).get("room" + NEW_ROOM, ""))


async def sensor_form(request: web.Request, errors: dict[str, list[str]] | None = None,
                      posted: Mapping[str, str] | None = None, status: int = 200) -> web.Response:
    def heard(values: dict[str, Any]) -> None:  # from the learn page: the code the radio heard
        for key in ("protocol", "address", "switch"):
            values[key] = request.query.get(key, "")[:64]
        if request.query.get("kind") in forms.form_field("kind", RflinkDevice).choices:
            values["kind"] = request.query["kind"]  # what learn mode guessed from what it heard
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


def _section(request: web.Request, kind: str) -> forms.DeviceSection:
    if kind not in forms.SECTIONS:
        raise web.HTTPNotFound(text=_plain(request, "http.no_device"))
    return forms.SECTIONS[kind]


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
