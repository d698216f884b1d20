"""Emulated health devices: a watch with heart rate and skin contact, a pulse oximeter, a cuff, a scale.

A scenario is a timeline of notifications (seconds from its start, which
device, which characteristic, the bytes), made by the SIG profiles' own
encoders, played in real time through the wearable emulator
(``simulators/wearable.py``, the loopback radio), so the hub decodes what
real devices send. Stamped measurements (a cuff's memory) are dated from the
scenario's start in local time.

Scenarios: ``normal`` (a resting heart rate with contact and a morning's
measurements), ``bradycardia_night`` (36 bpm at rest for 20 min),
``hypoxia`` (a continuous oximeter at 84-87 % for 15 min), ``watch_off``
(contact lost for ``off_h`` hours), ``missed_day`` (the cuff and scale send
their memory on connect: readings three and two days ago, none yesterday).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drivers.ble.profiles import health_codecs as hc
from drivers.ble.profiles.sig import HEART_RATE_MEASUREMENT

ADDRESSES = {"watch": "C0:FF:EE:00:03:01", "oximeter": "C0:FF:EE:00:03:02", "cuff": "C0:FF:EE:00:03:03",
             "scale": "C0:FF:EE:00:03:04"}
PROFILES = {"watch": "heart_rate", "oximeter": "pulse_oximeter", "cuff": "blood_pressure", "scale": "weight_scale"}
SCENARIOS = ("normal", "bradycardia_night", "hypoxia", "watch_off", "missed_day")
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Notification:
    at_s: float
    device: str
    uuid: str
    data: bytes


def heart_rate(bpm: float, contact: bool, rr_s: float | None = None) -> bytes:
    """A Heart Rate Measurement: uint8 rate, contact supported (and detected), an RR interval."""
    flags = 0x04 | (0x02 if contact else 0) | (0x10 if rr_s else 0)
    out = bytes([flags, max(0, min(255, round(bpm))) if contact else 0])
    return out + (round(rr_s * 1024).to_bytes(2, "little") if rr_s else b"")


def _watch(rng: np.random.Generator, start: float, seconds: float, bpm: Callable[[float], float],
           contact: Callable[[float], bool], step: float = 1.0) -> list[Notification]:
    out = []
    for t in np.arange(start, start + seconds, step):
        b, on = bpm(float(t)) + rng.normal(0, 1.5), contact(float(t))
        out.append(Notification(float(t), "watch", HEART_RATE_MEASUREMENT, heart_rate(b, on, 60.0 / b if on else None)))
    return out


def scenario(name: str, start_local: float, seed: int = 0, off_h: float = 4.5) -> list[Notification]:
    rng = np.random.default_rng(seed)
    if name == "normal":
        notes = _watch(rng, 0, 1800, lambda t: 64, lambda t: True)
        notes += [Notification(60, "cuff", hc.BLOOD_PRESSURE_MEASUREMENT, hc.encode_blood_pressure(128, 79, None, 66)),
                  Notification(90, "scale", hc.WEIGHT_MEASUREMENT, hc.encode_weight(71.8)),
                  Notification(120, "oximeter", hc.PLX_SPOT_CHECK, hc.encode_plx_spot_check(97, 65))]
    elif name == "bradycardia_night":
        notes = _watch(rng, 0, 3600, lambda t: 36 if 300 <= t < 1500 else 56, lambda t: True)
    elif name == "hypoxia":
        notes = [Notification(float(t), "oximeter", hc.PLX_CONTINUOUS,
                              hc.encode_plx_continuous(round(rng.uniform(84, 87.5) if 180 <= t < 1080 else
                                                             rng.uniform(94, 97)), 72))
                 for t in range(0, 1500)]
    elif name == "watch_off":
        notes = _watch(rng, 0, off_h * 3600 + 300, lambda t: 66, lambda t: not 120 <= t < 120 + off_h * 3600,
                       step=5.0)
    elif name == "missed_day":
        notes = []
        for days_ago, (s, d, kg) in ((3, (126, 80, 71.6)), (2, (131, 83, 71.9))):  # none yesterday
            when = start_local - days_ago * DAY + 8 * 3600 - start_local % DAY
            notes += [Notification(5, "cuff", hc.BLOOD_PRESSURE_MEASUREMENT, hc.encode_blood_pressure(s, d, when, 70)),
                      Notification(6, "scale", hc.WEIGHT_MEASUREMENT, hc.encode_weight(kg, when + 60))]
    else:
        raise ValueError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
    return sorted(notes, key=lambda n: n.at_s)


def play(notes: list[Notification], send: Callable[[str, str, bytes], None], stop: threading.Event,
         speed: float = 1.0) -> int:
    """Send each notification at its time (``send(address, uuid, data)``); the number sent."""
    start = time.monotonic()
    sent = 0
    for n in notes:
        delay = start + n.at_s / speed - time.monotonic()
        if delay > 0 and stop.wait(delay):
            break
        send(ADDRESSES[n.device], n.uuid, n.data)
        sent += 1
    return sent
