"""Learn mode on the page: every device heard, one entry each with a guessed kind, and the way to add it.

The hub keeps what its radios heard (``gateway/learn.py``: RFLink, rtl_433,
Zigbee2MQTT and its device list); this page shows each device once with how
often and when it was heard, what it sent and what it probably is
(``gateway/learn_kinds.py``), and links to the form of its family prefilled
with its radio identity and the guessed kind. A generic 433 MHz code
(``Generic-Remote``) goes through steps first ("open the door now", "close it
now"), so that the hub stores which code means which state. Radars are found
by probing a serial port (``gateway/radar_probe.py``) rather than by pressing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from gateway.config import Config
from gateway.learn_kinds import guess, is_generic
from gateway.radar_probe import candidate_ports, ports_in_use
from gateway.web.core import HUB, HubView, _form, _plain, _t, render
from gateway.web.text import _label, _when

FORMS = {"rflink": "/devices/sensor", "rtl433": "/devices/rtl433", "zigbee": "/devices/zigbee"}
KINDS = {  # what each family's config accepts (gateway/config: RflinkKind, ZigbeeKind)
    "rflink": ("pir", "door", "sos", "bed", "seat", "toilet_flush", "cabinet", "fridge", "other"),
    "rtl433": ("pir", "door", "sos", "bed", "seat", "toilet_flush", "cabinet", "fridge", "other"),
    "zigbee": ("pir", "door", "sos", "bed", "seat", "presence", "toilet_flush", "cabinet", "fridge", "other"),
}
IDENT = {"rflink": ("protocol", "address", "switch"), "rtl433": ("model", "address", "channel", "subtype"),
         "zigbee": ("friendly_name",)}


def known_as(cfg: Config, entry: Mapping[str, Any]) -> str | None:
    """The configured device this entry is, matched on the config now (it may have been added since)."""
    family = entry.get("family")
    if family == "rflink":
        for d in cfg.devices:
            if (d.protocol.lower(), _norm(d.address)) == (str(entry["protocol"]).lower(), _norm(entry["address"])) \
                    and (not d.switch or _norm(d.switch) == _norm(entry.get("switch", ""))):
                return d.id
    elif family == "rtl433":
        for r in cfg.rtl433_devices:
            if r.model == entry["model"] and r.address.lower() == str(entry["address"]).lower() \
                    and (not r.channel or r.channel.lower() == entry.get("channel", "")) \
                    and (not r.subtype or r.subtype.lower() == entry.get("subtype", "")):
                return r.id
    elif family == "zigbee":
        for z in cfg.zigbee_devices:
            if z.friendly_name == entry["friendly_name"]:
                return z.id
    return entry.get("device")


def _norm(code: Any) -> str:
    return str(code).lower().lstrip("0")  # as the RFLink codec matches codes


def identity(entry: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(entry.get(k) or "")[:120] for k in IDENT.get(str(entry.get("family")), ())}


def entry_view(t: Callable[..., str], cfg: Config, entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows of one device heard, in the page's language."""
    family = str(entry["family"])
    g = guess(entry)
    ident = identity(entry)
    query = {**ident, **({"kind": g.kind} if g.kind else {})}
    if family == "rflink":
        title = f"{ident['protocol']} {ident['address']}" + (f" / {ident['switch']}" if ident["switch"] else "")
    elif family == "rtl433":
        title = f"{ident['model']} {ident['address']}" + (
            " · " + t("learn.channel", channel=ident["channel"]) if ident["channel"] else "")
    else:
        bridge = entry.get("bridge") or {}
        title = ident["friendly_name"] + (f" ({bridge['vendor']} {bridge['model']})".replace("( ", "(")
                                          if bridge.get("model") else "")
    codes = ", ".join(f"{c['code']} ×{c['count']}" for c in entry.get("codes", []) if c["code"] != "")
    fields = [m for m in entry.get("meaning", [])] + list((entry.get("bridge") or {}).get("exposes", []))
    steps = is_generic(entry)
    return {
        "key": entry["key"], "seq": entry["seq"], "family": family, "family_text": t(f"learn.family.{family}"),
        "title": title, "count": entry["count"], "wall": entry.get("wall"), "when": _when(entry.get("wall")),
        "codes": codes, "fields": ", ".join(dict.fromkeys(fields)),
        "battery": entry.get("battery"), "kind": g.kind,
        "guess": t("learn.guess", kind=_label(t, "kind", g.kind)) if g.kind else t("learn.no_guess"),
        "why": t(f"learn.why.{g.reason}", **g.values),
        "known_as": known_as(cfg, entry),
        "add_url": ("/devices/rtl433/codes?" if steps else FORMS[family] + "?") + urlencode(query),
        "add_text": t("learn.add_steps" if steps else "learn.add"),
    }


def learn_views(hub: HubView, t: Callable[..., str], start: int) -> list[dict[str, Any]]:
    """Devices heard since the page opened (``start``), newest first; Zigbee2MQTT's paired devices after."""
    rows = [e for e in hub.heard_codes(0) if e["count"] == 0 or e["seq"] > start]
    views = [entry_view(t, hub.config, e) for e in rows]
    heard = sorted((v for v in views if v["count"]), key=lambda v: v["wall"] or 0, reverse=True)
    # Paired but silent: only what carehub can use (a network's lamps and plugs expose nothing it reads).
    paired = [v for v in views if not v["count"] and not v["known_as"] and v["kind"]]
    return heard + paired


async def learn_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    try:
        start = int(request.query.get("start", ""))
    except ValueError:
        start = max((e["seq"] for e in hub.heard_codes(0)), default=0)
    t = _t(request)
    template = "learn_groups.html" if request.query.get("part") == "groups" else "learn.html"
    cfg = hub.config
    ports = await asyncio.to_thread(candidate_ports, ports_in_use(cfg)) if template == "learn.html" else []
    return render(request, template, start=start, groups=learn_views(hub, t, start),
                  rflink_enabled=cfg.rflink.enabled, rflink=hub.status().get("rflink"),
                  zigbee_enabled=cfg.zigbee2mqtt.enabled, rtl433_enabled=cfg.rtl433.enabled,
                  ports=ports, probe=None)


async def heard_api(request: web.Request) -> web.Response:
    """The devices heard after ``after``, as data (what the page's list is made of)."""
    hub: HubView = request.app[HUB]
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text=_plain(request, "http.bad_request")) from None
    t = _t(request)
    rows = [entry_view(t, hub.config, e) | {k: e.get(k) for k in ("protocol", "address", "switch", "model",
                                                                   "friendly_name")}
            for e in hub.heard_codes(after) if e["count"]]
    return web.json_response({"codes": rows, "known": t("learn.known")})


async def radar_probe_post(request: web.Request) -> web.Response:
    """Listen on one serial port for a radar's frames; the answer links to the radar form."""
    hub: HubView = request.app[HUB]
    form = await _form(request)
    port = form.get("port", "").strip()[:255]
    result = await hub.probe_radar(port)
    t = _t(request)
    cfg = hub.config
    if result.get("model"):
        text = t("learn.radar.found", model=t(f"choice.model.{result['model']}"), port=port)
        add_url = "/devices/radar?" + urlencode({"model": result["model"], "port": port})
    elif result.get("problem"):
        text, add_url = t(f"learn.radar.{result['problem']}", port=port), None
    else:
        text, add_url = t("learn.radar.nothing", port=port), None
    ports = await asyncio.to_thread(candidate_ports, ports_in_use(cfg))
    start = max((e["seq"] for e in hub.heard_codes(0)), default=0)
    return render(request, "learn.html", start=start, groups=learn_views(hub, t, start),
                  rflink_enabled=cfg.rflink.enabled, rflink=hub.status().get("rflink"),
                  zigbee_enabled=cfg.zigbee2mqtt.enabled, rtl433_enabled=cfg.rtl433.enabled, ports=ports,
                  probe={"port": port, "text": text, "add_url": add_url, "ok": bool(add_url)})
