"""What the hub says of itself: the status the page and the platform read, and the health message."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from detection.home.explain import now_view
from detection.home.monitor import HomeMonitor
from gateway import __version__
from gateway.activity import DAYS, last_sign_of
from gateway.pi_health import read_pi_health
from gateway.store import OPEN_STATES
from gateway.vitals_summary import vitals_view

if TYPE_CHECKING:
    from gateway.daemon import Hub


def hub_status(hub: Hub) -> dict[str, Any]:
    return {
        "platform": hub.uplink.status(),
        "clock": {"synced": hub.clock.synced, "wall": time.time()},
        "devices": hub.registry.as_list(),
        "open_alerts": [
            {"id": a.id, "type": a.type, "severity": a.severity, "room": a.room, "device": a.device,
             "raised_wall": a.raised_wall, "level": a.level, "state": a.state}
            for a in hub.store.alerts(OPEN_STATES) if a.type != "call_request"
        ],
        # A button's requests for a service (docs/alerts.md, "Press patterns"): not alerts, shown apart.
        "open_requests": [
            {"id": a.id, "service": a.evidence.get("service"), "device": a.device, "room": a.room,
             "requested_wall": a.detected_wall, "requests": int(a.evidence.get("requests", 1))}
            for a in hub.store.alerts(OPEN_STATES) if a.type == "call_request"
        ],
        "hub": {"site_id": hub.config.site.id, "uptime_s": round(hub.clock.uptime_s(), 1),
                "version": __version__},
        "rflink": hub.rflink.status() if hub.rflink is not None else None,
        "ble": {"radio_problem": hub.ble.radio_problem} if hub.ble is not None else None,
        "maintenance": hub.maintenance(),
        "platform_switch": hub.switch.last,
        "home_learning": home_learning(hub),
        "vitals": vitals_view(hub.pipeline.detectors, int(hub.clock.now().local // 86400)),
        "second_path": _second_path(hub),
    }

def hub_health(hub: Hub) -> dict[str, Any]:
    seen = {d.id: d.last_seen_wall for d in hub.registry.devices.values()}
    body: dict[str, Any] = {
        "site": hub.config.site.id,
        "version": __version__,
        "uptime_s": round(hub.clock.uptime_s(), 1),
        "clock_synced": hub.clock.synced,
        "outbox_depth": hub.store.outbox_depth(),
        # Requests for a service are not alerts (docs/alerts.md): counted apart, as the status reply lists them.
        "open_alerts": sum(1 for a in hub.policy.open_alerts() if a.type != "call_request"),
        "open_requests": sum(1 for a in hub.policy.open_alerts() if a.type == "call_request"),
        "storage_failures": hub.policy.storage_failures,
        "devices_seen": sum(1 for v in seen.values() if v is not None),
        "devices_total": len(seen),
        "last_seen": seen,
        "counters": {"pipeline": dict(hub.pipeline.counters), "uplink": dict(hub.uplink.counters)},
    }
    if hub.rflink is not None:
        body["rflink"] = hub.rflink.status()
    if hub.ble is not None:
        body["ble"] = hub.ble.status()
    for name in ("radar", "zigbee2mqtt", "rtl433", "second_path", "power"):  # counters, SIM and signal, mains
        component = hub.supervisor.get(name)
        if component is not None:
            body[name] = component.status()
    if hub.web_counters is not None:
        body["web"] = hub.web_counters()
    body["components"] = hub.supervisor.report()
    body["pi"] = read_pi_health()
    body["home_learning"] = home_learning(hub)
    return body

def _second_path(hub: Hub) -> dict[str, Any] | None:
    """The SMS path: the modem's SIM, registration and signal, the last path test (docs/second-path.md)."""
    component = hub.supervisor.get("second_path")
    return component.status() if component is not None else None

def home_learning(hub: Hub) -> dict[str, Any] | None:
    """Per context, the silences the home monitor has learned and the limit now (None: no monitor).

    Kept until the monitor learns another silence or the hour changes: working it out reads every
    silence remembered (thousands), and the status page asks on every refresh."""
    for det in hub.pipeline.detectors:
        learning = getattr(det, "learning", None)
        if det.name == "home" and learning is not None:
            hour = int(hub.clock.now().local % 86400 // 3600)
            gaps = getattr(getattr(det, "gaps", None), "gaps", None)
            key = (id(det), hour, len(gaps), gaps[-1]) if gaps else None
            cached = _learning_cache.get("home")
            if key is not None and cached is not None and cached[0] == key:
                return cached[1]
            value: dict[str, Any] = learning(hour)
            if key is not None:
                _learning_cache["home"] = (key, value)
            return value
    return None


_learning_cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}


JOURNAL_SKIP = ("vital", "accel", "status")  # never a sign of life; a wearable's vitals come at 1 Hz
JOURNAL_BATCH = 50000


def person_day(hub: Hub) -> dict[str, Any]:
    """The person's week for the page: activity per room and quarter hour, outings and alerts
    (``gateway.activity``, fed with what was journalled since the last look), and what the home
    monitor makes of the silence now (``detection.home.explain``)."""
    now = time.time()
    since = now - DAYS * 86400
    log = hub.activity
    log.away_after_s = hub.config.detection.home.away_after_min * 60
    top = hub.store.journal_top_id()
    while True:
        rows = hub.store.journal_after(log.last_id, since, JOURNAL_SKIP, JOURNAL_BATCH)
        log.add(rows)
        if len(rows) < JOURNAL_BATCH:
            break
    log.last_id = max(log.last_id, top)  # the rows skipped by kind are not read again
    alerts = [{"type": kind, "severity": severity, "room": room, "raised_wall": wall}
              for kind, severity, room, wall in hub.store.alerts_raised_since(since)]
    monitor = next((d for d in hub.pipeline.detectors if isinstance(d, HomeMonitor)), None)
    explained = now_view(monitor, hub.clock.now()) if monitor is not None else None
    return {"wall": now, "last_sign": last_sign_of(explained, log, now), "out_since": log.out_now(now),
            "monitor": explained,
            "timeline": log.days(now, alerts)}
