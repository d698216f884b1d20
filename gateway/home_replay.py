"""Home event logs (format B) through the daemon's own detectors, in simulated time.

Used by ``carehub replay home`` and ``carehub eval home``. Detectors come from
``gateway.detectors.build_detectors`` with a config whose devices are the
log's sensors, named as the log names them (so supervision hears the same
device the observations come from), and time advances with a Tick every 30 s exactly as the daemon
ticks, so replay equals live.
"""

from __future__ import annotations

import calendar
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from detection.events import (
    Contact,
    Detector,
    Finding,
    FindingState,
    Motion,
    Observation,
    Presence,
    PresenceState,
    Stamp,
    Tick,
)
from gateway.config import Config
from gateway.config.schema import ID_PATTERN, ROOM_PATTERN, RflinkDevice
from gateway.detectors import build_detectors
from gateway.pipeline import TICK_S, Pipeline

ID_RE = re.compile(ID_PATTERN)
ROOM_RE = re.compile(ROOM_PATTERN)
REPORTED = ("emergency", "urgent", "wellbeing", "technical")
_KIND_TO_DEVICE = {"motion": "pir", "door": "door", "bed": "bed", "seat": "seat", "toilet_flush": "toilet_flush",
                   "cabinet": "cabinet", "fridge": "fridge"}


@dataclass(frozen=True)
class Event:
    local: float  # seconds, local time read as if UTC
    sensor: str
    room: str
    kind: str
    state: int


def parse_ts(text: str) -> float:
    return float(calendar.timegm(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").timetuple()))


def format_ts(local: float) -> str:
    return datetime.utcfromtimestamp(local).strftime("%Y-%m-%d %H:%M:%S")


def read_events(folder: Path) -> list[Event]:
    """events.csv of a format-B folder; bad rows are skipped and counted in the error."""
    path = folder / "events.csv"
    events, bad = [], 0
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                events.append(Event(parse_ts(row["ts"]), row["sensor"], row["room"] or "other", row["kind"],
                                    int(row["state"])))
            except (KeyError, ValueError, TypeError):
                bad += 1
    if not events:
        raise ValueError(f"{path}: no readable events ({bad} bad rows)")
    events.sort(key=lambda e: e.local)
    return events


def home_config(folder: Path, events: list[Event], base: Config) -> Config:
    """The base config with the log's sensors as devices (so build_detectors sees a real home)."""
    sensors: dict[str, tuple[str, str]] = {}
    meta = folder / "home.json"
    if meta.exists():
        for sid, info in json.loads(meta.read_text()).get("sensors", {}).items():
            sensors[sid] = (info.get("room", "other"), info.get("kind", "other"))
    for e in events:
        sensors.setdefault(e.sensor, (e.room, e.kind))
    devices = [
        RflinkDevice(id=device_id(sid), protocol="replay", address=f"{i + 1:x}",
                     kind=_KIND_TO_DEVICE.get(kind, "other"),  # type: ignore[arg-type]
                     room=room if ROOM_RE.match(room) else "other", name=sid)
        for i, (sid, (room, kind)) in enumerate(sorted(sensors.items()))
    ]
    return replace(base, devices=devices)


def device_id(sensor: str) -> str:
    """The log's sensor name as a device id, so that supervision and the detectors speak of the same
    device as the observations do (a name the config would refuse keeps its characters that it allows)."""
    if ID_RE.match(sensor):
        return sensor
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", sensor).lstrip("_.-")[:64]
    return cleaned or "sensor"


def observation(e: Event) -> Observation:
    at = Stamp(e.local, e.local)
    device = device_id(e.sensor)
    if e.kind == "motion":
        return Motion(device=device, at=at, room=e.room, active=bool(e.state))
    if e.kind == "presence":  # a presence radar: 1 someone in its field (moving or not), 0 nobody
        return Presence(device=device, at=at, room=e.room,
                        state=PresenceState.PRESENT if e.state else PresenceState.NONE)
    return Contact(device=device, at=at, room=e.room, kind=e.kind, active=bool(e.state))


def timeline(events: list[Event], until: float) -> Iterator[Observation]:
    """The events, with a Tick every TICK_S of simulated time, up to ``until``."""
    if not events:
        return
    next_tick = (events[0].local // TICK_S + 1) * TICK_S
    for e in events:
        while next_tick <= e.local:
            yield Tick(at=Stamp(next_tick, next_tick))
            next_tick += TICK_S
        yield observation(e)
    while next_tick <= until:
        yield Tick(at=Stamp(next_tick, next_tick))
        next_tick += TICK_S


class ReplayClock:
    """Recorded time for both of the hub's clocks: the log's local time is the timeline."""

    def __init__(self) -> None:
        self._now = Stamp(0.0, 0.0)

    def now(self) -> Stamp:
        return self._now

    def advance(self, at: Stamp) -> None:
        self._now = at

    def utc_of(self, stamp: Stamp) -> float:
        return stamp.local


def run(detectors: list[Detector], observations: Iterator[Observation]) -> Iterator[Finding]:
    """The observations through the daemon's own ``Pipeline`` (device registry, detectors, their order)."""
    found: list[Finding] = []
    clock = ReplayClock()
    pipeline = Pipeline(detectors, found.append, clock)
    for obs in observations:
        clock.advance(obs.at)
        pipeline.submit(obs)
        if found:
            yield from found
            found.clear()


def report(f: Finding) -> dict[str, Any]:
    return {"ts": format_ts(f.at.local), "type": f.type, "severity": f.severity.value, "room": f.room,
            "detail": f.evidence}


def raised(findings: Iterator[Finding]) -> Iterator[Finding]:
    return (f for f in findings if f.state is FindingState.RAISED and f.severity.value in REPORTED)


def detectors_for(folder: Path, events: list[Event], base: Config) -> list[Detector]:
    return build_detectors(home_config(folder, events, base))
