"""Mains lost and back: the hub's power source read and reported as ``…/power`` (docs/mqtt.md, "Power").

The source is the kernel's ``/sys/class/power_supply`` (a Mains or USB supply's
``online``, or, on a UPS HAT whose driver shows only its battery, the battery's
``status``: Discharging means the mains is gone) or a GPIO input's value file
(a mains sensor on a pin: ``/sys/class/gpio/gpioN/value``, or any file a driver
or a small service keeps up to date). The readings go to the pure
``MainsWatch`` (gateway/power_state.py); a report and the incident it belongs to
are written in one commit (the outbox row and the ``kv`` snapshot), so a reboot
never loses an incident nor reports one twice. The message goes through the
outbox like an alert: at least once, never expired.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from gateway.clock import HubClock, iso
from gateway.config.power import PowerConfig
from gateway.first_connect import system_uptime_s
from gateway.power_state import MainsWatch
from gateway.store import Store
from gateway.topics import Topics

log = structlog.get_logger("carehub.power")

KV_KEY = "power.incident"
PROBLEM_LOG_S = 60.0
ON_BATTERY = frozenset({"Discharging"})
ON_MAINS = frozenset({"Charging", "Full", "Not charging"})


@dataclass(frozen=True)
class Reading:
    mains: bool | None  # None: the source cannot tell
    battery_pct: float | None
    source: str
    problem: str | None = None


def _text(path: Path) -> str | None:
    try:
        return path.read_text("ascii", errors="replace").strip()
    except OSError:
        return None


def read_power_supply(root: Path) -> Reading:
    """Mains from the kernel's power supplies: any Mains/USB supply online; else a battery's status."""
    try:
        supplies = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError as exc:
        return Reading(None, None, "power_supply", f"{root}: {exc.strerror or exc}")
    online: list[tuple[str, bool]] = []
    batteries: list[tuple[str, str, float | None]] = []
    for d in supplies:
        kind = _text(d / "type") or ""
        if kind == "Mains" or kind.startswith("USB"):
            value = _text(d / "online")
            if value in ("0", "1"):
                online.append((d.name, value == "1"))
        elif kind in ("Battery", "UPS"):
            cap = _text(d / "capacity")
            pct = float(cap) if cap and cap.replace(".", "", 1).isdigit() else None
            batteries.append((d.name, _text(d / "status") or "", pct))
    pct = next((b[2] for b in batteries if b[2] is not None), None)
    if online:
        names = ",".join(name for name, _ in online)
        return Reading(any(on for _, on in online), pct, f"power_supply:{names}")
    for name, status, bpct in batteries:
        if status in ON_BATTERY or status in ON_MAINS:
            return Reading(status in ON_MAINS, bpct, f"power_supply:{name}")
    return Reading(None, pct, "power_supply", f"no Mains/USB supply and no battery status in {root}")


def read_gpio_file(path: Path, mains_value: int) -> Reading:
    text = _text(path)
    if text not in ("0", "1"):
        return Reading(None, None, "gpio_file", f"{path}: {'unreadable' if text is None else repr(text[:20])}")
    return Reading(int(text) == mains_value, None, "gpio_file")


class PowerMonitor:
    def __init__(self, cfg: PowerConfig, store: Store, topics: Topics, site: str, clock: HubClock,
                 wake_uplink: Callable[[], None], uptime: Callable[[], float] = system_uptime_s) -> None:
        self.cfg = cfg
        self.store = store
        self.topics = topics
        self.site = site
        self.clock = clock
        self._wake = wake_uplink
        self._uptime = uptime
        self.watch = MainsWatch(lost_after_s=cfg.lost_after_s, restored_after_s=cfg.restored_after_s)
        self.counters: Counter[str] = Counter()
        self.last: Reading | None = None
        self._problem_logged = -1e9

    def read(self) -> Reading:
        if self.cfg.source == "gpio_file":
            return read_gpio_file(Path(self.cfg.gpio_file), self.cfg.gpio_mains_value)
        return read_power_supply(Path(self.cfg.power_supply_dir))

    async def run(self) -> None:
        try:
            raw = self.store.kv_get(KV_KEY)
            saved = json.loads(raw) if raw else None
        except (sqlite3.Error, ValueError):
            saved = None
        self.watch.restore(saved if isinstance(saved, dict) else None, boot_wall=time.time() - self._uptime())
        if self.watch.incident is not None:
            log.warning("power.incident_resumed", incident=self.watch.incident.id)
        while True:
            self.step()
            await asyncio.sleep(self.cfg.poll_s)

    def step(self) -> None:
        reading = self.last = self.read()
        if reading.problem is not None:
            self.counters["unreadable"] += 1
            now = time.monotonic()
            if now - self._problem_logged >= PROBLEM_LOG_S:
                self._problem_logged = now
                log.error("power.source_unreadable", problem=reading.problem, count=self.counters["unreadable"])
        stamp = self.clock.now()
        reports = self.watch.observe(reading.mains, t=stamp.t, wall=time.time(), synced=stamp.synced,
                                     source=reading.source, battery_pct=reading.battery_pct)
        if not reports and not self.watch.changed:
            return
        snapshot = self.watch.snapshot()
        try:
            with self.store.transaction():  # the report and the incident it closes or opens: one commit
                for report in reports:
                    body = report.message(self.site, iso)
                    self.store.enqueue(self.topics.power, json.dumps(body, separators=(",", ":")).encode(), qos=1)
                    self.counters[report.state] += 1
                    log.warning("power." + report.state, incident=body["incident"], cut_at=body["cut_at"],
                                on_battery_s=body["on_battery_s"])
                if snapshot is None:
                    self.store.kv_delete(KV_KEY)
                else:
                    self.store.kv_set(KV_KEY, json.dumps(snapshot))
        except sqlite3.Error as exc:
            # The card refuses writes: the incident stays in memory and is written with the next change.
            self.counters["store_failed"] += 1
            log.error("power.store_failed", error=str(exc))
            return
        if reports:
            self._wake()

    def status(self) -> dict[str, Any]:
        inc = self.watch.incident
        return {
            "source": self.last.source if self.last else self.cfg.source,
            "mains": self.last.mains if self.last else None,
            "battery_pct": self.last.battery_pct if self.last else None,
            "problem": self.last.problem if self.last else None,
            "incident": inc.id if inc is not None else None,
            "counters": dict(self.counters),
        }
