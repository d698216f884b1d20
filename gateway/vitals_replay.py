"""A vital-signs recording (JSON lines) through the daemon's own detectors (``carehub replay vitals``).

One object per line, in time order: ``ts`` (local time, ``YYYY-MM-DD HH:MM:SS``
or seconds) and ``device``, then what was observed, with the names of
``VitalSign`` (``heart_rate_bpm``, ``skin_contact``, ``spo2_pct``,
``pulse_rate_bpm``, ``body_temp_c``, ``temp_site``, ``systolic_mmhg``,
``diastolic_mmhg``, ``weight_kg``, ``user_id``, ``quality``...), ``worn``
(a wearable's report), or ``accel`` (a list of [x, y, z] in g) with ``fs``.
``"motion": true`` is a home motion sensor (for the learned waking hours).
Devices the config does not name are added: a device that ever reports a
heart rate, contact, worn or accelerometer as a worn wearable, any other as a
meter. Time passes in 30-s ticks between lines, as in the daemon.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from detection.events import AccelBatch, DeviceStatus, Finding, Motion, Observation, Stamp, Tick, VitalSign
from gateway.config import Config
from gateway.config.schema import WearableConfig
from gateway.detectors import build_detectors

TICK_S = 30.0
_VITAL = {f.name for f in fields(VitalSign)} - {"device", "at", "room"}
REPLAYED = ("vitals", "wear")
_WORN_KEYS = {"heart_rate_bpm", "skin_contact", "worn", "accel"}
MAX_SAMPLES = 10_000


@dataclass
class Recording:
    observations: list[Observation] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    worn_devices: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)


def parse_ts(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%d %H:%M:%S")))
    raise ValueError("ts must be seconds or 'YYYY-MM-DD HH:MM:SS'")


def observation(row: dict[str, Any]) -> Observation:
    """One line's observation; ValueError (or TypeError) says what is wrong with it."""
    local = parse_ts(row.get("ts"))
    device = row.get("device")
    if not isinstance(device, str) or not device:
        raise ValueError("device must be a non-empty string")
    at = Stamp(local, local)
    if row.get("motion") is True:
        return Motion(device=device, at=at)
    if "accel" in row:
        samples = np.asarray(row["accel"], dtype=float)
        fs = float(row.get("fs", 25.0))
        if samples.ndim != 2 or samples.shape[1] != 3 or not 1 <= len(samples) <= MAX_SAMPLES or not 1 <= fs <= 1000:
            raise ValueError("accel must be 1 to 10000 [x, y, z] samples with fs 1-1000 Hz")
        if not np.isfinite(samples).all():
            raise ValueError("accel samples must be finite")
        return AccelBatch(device=device, at=at, fs=fs, samples=samples, placement=str(row.get("placement", "wrist")))
    if "worn" in row:
        if not isinstance(row["worn"], bool):
            raise ValueError("worn must be true or false")
        return DeviceStatus(device=device, at=at, worn=row["worn"])
    values = {k: v for k, v in row.items() if k in _VITAL}
    if not values:
        raise ValueError("nothing observed on this line")
    for k, v in values.items():
        if k in ("skin_contact", "clock_suspect"):
            if not isinstance(v, bool):
                raise ValueError(f"{k} must be true or false")
        elif k == "quality":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ValueError("quality must be a list of names")
            values[k] = tuple(v)
        elif k == "rr_intervals_s":
            values[k] = tuple(float(x) for x in v)
        elif k == "temp_site":
            if not isinstance(v, str):
                raise ValueError("temp_site must be a string")
        elif k == "user_id":
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError("user_id must be a whole number")
        elif not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v):
            raise ValueError(f"{k} must be a number")
    return VitalSign(device=device, at=at, **values)


def read(lines: Iterable[str]) -> Recording:
    rec = Recording()
    last = -np.inf
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a line must be a JSON object")
            obs = observation(row)
        except (ValueError, TypeError) as exc:
            rec.errors.append((n, str(exc)[:200]))
            continue
        if obs.at.t < last:
            rec.errors.append((n, "out of time order"))
            continue
        last = obs.at.t
        rec.observations.append(obs)
        if not isinstance(obs, Motion):
            rec.devices.add(obs.device)
            if _WORN_KEYS & row.keys():
                rec.worn_devices.add(obs.device)
    return rec


def with_devices(cfg: Config, rec: Recording) -> Config:
    known = {w.id for w in cfg.wearables}
    added = [WearableConfig(id=d, address="00:00:00:00:00:00",
                            profile="heart_rate" if d in rec.worn_devices else "blood_pressure")
             for d in sorted(rec.devices - known)]
    return replace(cfg, wearables=[*cfg.wearables, *added])


def replay(cfg: Config, observations: list[Observation]) -> Iterator[Finding]:
    detectors = [d for d in build_detectors(cfg) if d.name in REPLAYED]
    next_tick: float | None = None
    for obs in observations:
        if next_tick is None:
            next_tick = obs.at.t
        while next_tick <= obs.at.t:
            tick = Tick(at=Stamp(next_tick, next_tick))
            for det in detectors:
                yield from det.observe(tick)
            next_tick += TICK_S
        for det in detectors:
            yield from det.observe(obs)


def finding_line(f: Finding) -> dict[str, Any]:
    return {"ts": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(f.at.local)), "type": f.type,
            "severity": f.severity.value, "state": f.state.value, "device": f.device, "evidence": f.evidence}
