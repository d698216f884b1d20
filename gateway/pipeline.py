"""Observations from drivers -> detectors -> findings to the alert policy.

Drivers call ``submit`` on the event loop's thread. Detectors run right there,
synchronously: they are pure and fast, and a help call must not wait behind a
queue. A detector that raises is logged and counted, and the others still run.
Besides the detectors, every observation updates the device registry (last
seen, battery, signal) and the live event bus, and all but accelerometer
batches go to the journal, written in batches to spare the SD card.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from detection.events import (
    AccelBatch,
    ButtonPress,
    Contact,
    Detector,
    DeviceStatus,
    Fall,
    Finding,
    Motion,
    Observation,
    Presence,
    Stamp,
    Tick,
    VitalSign,
)
from detection.whereabouts import Whereabouts
from gateway.store import Store

log = structlog.get_logger("carehub.pipeline")


@dataclass
class DeviceState:
    id: str
    kind: str
    room: str | None
    name: str = ""
    last_seen_wall: float | None = None
    battery_low: bool | None = None
    battery_pct: float | None = None
    rssi: float | None = None
    online: bool | None = None
    worn: bool | None = None  # a wearable's last contact report (the page shows worn / not worn)
    active: bool | None = None  # a contact's last state: a door open, a bed occupied (the page says which)


class DeviceRegistry:
    """What the hub knows of each configured device right now."""

    def __init__(self) -> None:
        self.devices: dict[str, DeviceState] = {}

    def configure(self, devices: Iterable[DeviceState]) -> None:
        old = self.devices
        self.devices = {}
        for d in devices:
            prev = old.get(d.id)
            if prev is not None:  # keep what was observed across a config change
                d.last_seen_wall, d.battery_low, d.battery_pct = prev.last_seen_wall, prev.battery_low, prev.battery_pct
                d.rssi, d.online, d.worn, d.active = prev.rssi, prev.online, prev.worn, prev.active
            self.devices[d.id] = d

    def seen(self, obs: Observation, wall: float) -> None:
        d = self.devices.get(obs.device)
        if d is None:
            return
        d.last_seen_wall = wall
        if isinstance(obs, DeviceStatus):
            if obs.battery_low is not None:
                d.battery_low = obs.battery_low
            if obs.battery_pct is not None:
                d.battery_pct = obs.battery_pct
            if obs.rssi is not None:
                d.rssi = obs.rssi
            if obs.connected is not None:
                d.online = obs.connected
            if obs.worn is not None:
                d.worn = obs.worn
        elif isinstance(obs, VitalSign) and obs.skin_contact is not None:
            d.worn = obs.skin_contact
        elif isinstance(obs, Contact):
            d.active = obs.active

    def as_list(self) -> list[dict[str, Any]]:
        return [vars(d).copy() for d in self.devices.values()]


class EventBus:
    """Live events for the technician's page: a short history and bounded subscriber queues."""

    def __init__(self, history: int = 50) -> None:
        self.recent: deque[dict[str, Any]] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.dropped = 0

    def publish(self, event: dict[str, Any]) -> None:
        self.recent.append(event)
        for q in list(self._subscribers):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1  # a slow browser must not slow the hub

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=200)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(q)


def describe(obs: Observation) -> tuple[str, str, dict[str, Any]]:
    """(kind, human text, detail) of an observation, for the journal and the page."""
    if isinstance(obs, Motion):
        return "motion", "motion" if obs.active else "motion ended", {"active": obs.active}
    if isinstance(obs, Contact):
        return obs.kind, f"{obs.kind} {'on' if obs.active else 'off'}", {"active": obs.active}
    if isinstance(obs, ButtonPress):
        return "button", f"button: {obs.action.value}", {"action": obs.action.value}
    if isinstance(obs, DeviceStatus):
        detail = {k: v for k, v in (("battery_low", obs.battery_low), ("battery_pct", obs.battery_pct),
                                    ("rssi", obs.rssi), ("worn", obs.worn), ("connected", obs.connected))
                  if v is not None}
        return "status", "status " + ", ".join(f"{k}={v}" for k, v in detail.items()), detail
    if isinstance(obs, VitalSign):
        detail = {k: v for k in _VITAL_FIELDS
                  if (v := getattr(obs, k)) is not None and v != () and not (k == "clock_suspect" and not v)}
        return "vital", "vital " + ", ".join(f"{k}={v}" for k, v in detail.items()), detail
    if isinstance(obs, Presence):
        where = "" if obs.distance_m is None else f" at {obs.distance_m} m"
        return "presence", f"presence {obs.state.value}{where}", {"state": obs.state.value,
                                                                  "distance_m": obs.distance_m}
    if isinstance(obs, Fall):
        return "fall", "radar: fall" if obs.fallen else "radar: no fall", {"fallen": obs.fallen}
    if isinstance(obs, AccelBatch):
        return "accel", f"{len(obs.samples)} samples", {"n": len(obs.samples), "fs": obs.fs}
    return type(obs).__name__.lower(), type(obs).__name__, {}


# A reading's journal line names what it measured (a cuff's reading has no heart rate).
_VITAL_FIELDS = ("heart_rate_bpm", "skin_contact", "spo2_pct", "pulse_rate_bpm", "body_temp_c", "temp_site",
                 "systolic_mmhg", "diastolic_mmhg", "mean_arterial_mmhg", "weight_kg", "user_id", "quality",
                 "device_time", "clock_suspect")


TICK_S = 30.0  # detectors notice silence on this cadence, live and in replay


class Clock(Protocol):
    """The hub's clocks as the pipeline needs them (``gateway.clock.HubClock``; replay's own)."""

    def now(self) -> Stamp: ...
    def utc_of(self, stamp: Stamp) -> float: ...


def restore_baselines(detectors: Iterable[Detector], store: Store) -> None:
    """What each detector learned before (a restart, a replay with ``--state-db``)."""
    for det in detectors:
        state = store.load_baseline(det.name)
        if state is not None:
            try:
                det.restore(state)
                log.info("detector.restored", detector=det.name)
            except Exception:
                log.exception("detector.restore_failed", detector=det.name)


def save_baselines(pipeline: Pipeline, store: Store) -> None:
    for name, state in pipeline.snapshots().items():
        try:
            store.save_baseline(name, state)
        except Exception as exc:  # a full card: one line, not a traceback per detector
            log.error("detector.save_failed", detector=name, error=str(exc))


class Pipeline:
    def __init__(
        self,
        detectors: list[Detector],
        on_finding: Callable[[Finding], None],
        clock: Clock,
        store: Store | None = None,
        bus: EventBus | None = None,
        registry: DeviceRegistry | None = None,
    ) -> None:
        self.detectors = detectors
        self._on_finding = on_finding
        self._clock = clock
        self._store = store
        self.bus = bus or EventBus()
        self.registry = registry or DeviceRegistry()
        self._journal: list[tuple[float, str, str, str | None, dict[str, Any]]] = []
        self.counters: Counter[str] = Counter()
        self.whereabouts = Whereabouts()

    def submit(self, obs: Observation) -> None:
        self.counters["observations"] += 1
        wall = self._clock.utc_of(obs.at)
        if not isinstance(obs, Tick):
            self.registry.seen(obs, wall)
            self.whereabouts.seen(obs)
            kind, text, detail = describe(obs)
            if not isinstance(obs, AccelBatch) and self._store is not None:  # replay keeps no journal
                self._journal.append((wall, obs.device, kind, obs.room, detail))
                self.bus.publish({"wall": wall, "kind": kind, "device": obs.device, "room": obs.room,
                                  "text": text, "detail": detail})
        self._run_detectors(obs)

    def poll(self) -> None:
        """Between observations: detectors with deadlines of their own (a button's press pattern) hear the time."""
        timed = [det for det in self.detectors if hasattr(det, "poll")]
        if timed:
            self._run_detectors(Tick(at=self._clock.now()), timed)

    def _run_detectors(self, obs: Observation, detectors: list[Detector] | None = None) -> None:
        for det in self.detectors if detectors is None else detectors:
            try:
                findings = det.observe(obs)
            except Exception:
                self.counters[f"detector_errors.{det.name}"] += 1
                log.exception("pipeline.detector_failed", detector=det.name, observation=type(obs).__name__)
                continue
            for raw in findings:
                f = self.whereabouts.locate(raw)  # a wearable's fall: where she was last sensed
                self.counters["findings"] += 1
                self.bus.publish({"wall": time.time(), "kind": "finding", "device": f.device, "room": f.room,
                                  "text": f"{f.severity.value} {f.type} {f.state.value}",
                                  "detail": {"type": f.type, "severity": f.severity.value,
                                             "state": f.state.value}})
                try:
                    self._on_finding(f)
                except Exception:
                    # The policy failing is serious (an alert may not be stored): log
                    # loudly; the daemon's health check sees the counter.
                    self.counters["policy_errors"] += 1
                    log.exception("pipeline.policy_failed", finding=f.type, key=f.key)
            if findings and getattr(det, "persist_on_finding", False):
                self._save_state(det)

    def _save_state(self, det: Detector) -> None:
        """Save a detector's state now (after its findings reached the policy), not only hourly."""
        if self._store is None:
            return
        try:
            snap = det.snapshot()
            if snap is not None:
                self._store.save_baseline(det.name, snap)
        except Exception as exc:  # a full or failing card: one line; the hourly save tries again
            self.counters[f"state_save_errors.{det.name}"] += 1
            log.error("pipeline.state_save_failed", detector=det.name, error=str(exc))

    def tick(self) -> None:
        self.submit(Tick(at=self._clock.now()))

    def flush_journal(self) -> None:
        if not self._journal or self._store is None:
            return
        rows, self._journal = self._journal, []
        try:
            self._store.journal_append(rows)
        except Exception as exc:  # a full or failing card: one line per flush, no traceback
            self.counters["journal_errors"] += 1
            log.error("pipeline.journal_failed", rows=len(rows), error=str(exc),
                      count=self.counters["journal_errors"])

    def snapshots(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for det in self.detectors:
            try:
                snap = det.snapshot()
            except Exception:
                log.exception("pipeline.snapshot_failed", detector=det.name)
                continue
            if snap is not None:
                out[det.name] = snap
        return out
