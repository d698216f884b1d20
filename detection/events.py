"""The vocabulary shared by drivers, detectors and the gateway.

An *observation* is something a device told us, stamped with when it happened.
A *finding* is what a detector concluded from observations. Both are plain,
immutable data: no I/O, no clock, so they replay and test without hardware.

Time is carried, never read (ARCHITECTURE.md, "Time"):

* ``t`` is the hub's monotonic timeline in seconds. Intervals (how long since the
  last motion, how long a cancel window has run) are differences of ``t`` and so
  survive the Pi's clock jumping at boot when NTP finally syncs.
* ``local`` is the local wall-clock time in seconds since the epoch *as if the
  local time zone were UTC* (POSIX seconds + UTC offset). ``local % 86400`` is
  the time of day, which routine detectors need; ``local`` is never used for
  intervals.
* ``synced`` says whether the wall clock was synchronised when the stamp was
  taken. Findings computed from an unsynced clock are reported with that flag.

In replay ``t`` and ``local`` are both the recording's local time, so replay and
live share every line of detector code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

import numpy as np


class Stamp(NamedTuple):
    """When something happened, on both of the hub's clocks."""

    t: float
    local: float
    synced: bool = True

    def after(self, seconds: float) -> Stamp:
        return Stamp(self.t + seconds, self.local + seconds, self.synced)


SECONDS_PER_DAY = 86400.0


def time_of_day(local: float) -> float:
    """Seconds since local midnight for a ``local`` timestamp."""
    return local % SECONDS_PER_DAY


# Rooms follow the home-log vocabulary of shared/data/README.md so recorded and
# live homes speak alike; config may add others.
ROOMS = (
    "bedroom",
    "bathroom",
    "kitchen",
    "living",
    "entrance",
    "hall",
    "dining",
    "office",
    "other",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """Base of everything a device reports. ``device`` is the configured id."""

    device: str
    at: Stamp
    room: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Motion(Observation):
    """A PIR (far-infrared) sensor saw movement (``active``) or went quiet."""

    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact(Observation):
    """A binary sensor that is not a PIR: door, bed, seat, toilet flush, fridge...

    ``kind`` uses the home-log vocabulary (door, bed, seat, toilet_flush,
    cabinet, fridge, appliance, light, other); ``active`` is open / occupied / on.
    """

    kind: str = "door"
    active: bool = True


class ButtonAction(StrEnum):
    HELP = "help"  # a press of a help button (an emergency unless its press patterns say otherwise)
    CANCEL = "cancel"  # "I am fine": cancels a pending fall


class PressPattern(StrEnum):
    """What the device itself said about a press (``None`` on a ``ButtonPress``: only "pressed").

    Radios that only send presses (433 MHz, most BLE buttons) leave it ``None`` and the help-call
    detector tells single, double and long presses apart by time (detection/press_patterns.py).
    """

    ALARM = "alarm"  # the device's own alarm code (Zigbee ``emergency``, ``sos``): always an emergency
    SINGLE = "single"
    DOUBLE = "double"
    LONG = "long"  # the device's own long-press code (Zigbee ``hold``, a micro:bit's long press)
    SECOND = "second"  # the device's second button or channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPress(Observation):
    action: ButtonAction = ButtonAction.HELP
    pattern: PressPattern | None = None
    # Another frame of a press already reported (a held 433 MHz button keeps sending): how a
    # long press is seen on a radio that has no long-press code.
    repeat: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatus(Observation):
    """Housekeeping a device reports; ``None`` means "this report does not say"."""

    battery_low: bool | None = None
    battery_pct: float | None = None
    rssi: float | None = None
    worn: bool | None = None
    connected: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AccelBatch(Observation):
    """Consecutive accelerometer samples from one wearable.

    ``samples`` is float (n, 3) in g, in the sensor's own axes (detectors must not
    rely on them). ``at`` is the time of the *last* sample; sample ``i`` happened
    at ``at.t - (n - 1 - i) / fs``. ``seq`` is the wearable's batch sequence
    number where the profile has one, so that gaps can be seen.
    """

    fs: float
    samples: np.ndarray
    placement: str = "waist"
    seq: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalSign(Observation):
    """A measurement of the body; ``None`` means "this reading does not say".

    ``skin_contact`` is the sensor's own contact report. ``quality`` names what the
    device said is wrong with the reading (``body_movement``, ``cuff_loose``,
    ``questionable``...: docs/wearables.md). A measurement the device stored and
    sent later carries its own time in ``device_time`` (``local`` convention) and
    ``at`` moved back to it; ``clock_suspect`` says that time looked wrong (before
    2020, ahead of the hub), and then ``at`` is when it arrived.
    """

    heart_rate_bpm: float | None = None
    rr_intervals_s: tuple[float, ...] = ()
    skin_contact: bool | None = None
    energy_kj: float | None = None
    spo2_pct: float | None = None
    pulse_rate_bpm: float | None = None  # from a cuff or an oximeter
    body_temp_c: float | None = None
    temp_site: str | None = None
    systolic_mmhg: float | None = None
    diastolic_mmhg: float | None = None
    mean_arterial_mmhg: float | None = None
    weight_kg: float | None = None
    bmi: float | None = None
    height_m: float | None = None
    user_id: int | None = None
    quality: tuple[str, ...] = ()
    device_time: float | None = None
    clock_suspect: bool = False


class PresenceState(StrEnum):
    NONE = "none"  # the radar sees nobody in its field
    MOVING = "moving"
    STILL = "still"  # someone there and not moving: what a PIR cannot see
    PRESENT = "present"  # someone there; this radar does not say whether they move


@dataclass(frozen=True, slots=True, kw_only=True)
class Presence(Observation):
    """A presence radar's view of its room; ``distance_m`` from the radar to the target it reports."""

    state: PresenceState = PresenceState.NONE
    distance_m: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fall(Observation):
    """A device that detects falls itself (a mmWave radar): someone fell (``fallen``), or that is over."""

    fallen: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick(Observation):
    """Time passing with nothing observed; lets detectors notice silence."""

    device: str = "hub"


class Severity(StrEnum):
    EMERGENCY = "emergency"  # someone needs help now (help call, fall)
    URGENT = "urgent"  # probably needs help (inactivity, stuck in bathroom)
    WELLBEING = "wellbeing"  # a routine changed; for the care team's attention
    TECHNICAL = "technical"  # the system itself needs attention (device offline)
    INFO = "info"  # for the record (a fall the wearer cancelled)


class FindingState(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"  # the condition is over (device back, motion resumed)
    CANCELLED = "cancelled"  # a pending finding turned out not to need help


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What a detector concluded.

    ``key`` names the condition so that the alert policy can tie a later
    CLEARED/CANCELLED finding to the alert it raised (e.g. ``"fall:pendant"``).
    ``cancel_window_s`` > 0 asks the policy to hold the alert that long so the
    person can say they are fine.
    """

    type: str
    severity: Severity
    at: Stamp
    key: str
    state: FindingState = FindingState.RAISED
    device: str | None = None
    room: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    cancel_window_s: float = 0.0


class Detector(Protocol):
    """A pure detector: observations in, findings out. It may keep state, never I/O.

    ``snapshot``/``restore`` carry what it has learned (plain JSON-able data) so
    that the gateway can keep baselines across restarts.
    """

    name: str

    def observe(self, obs: Observation) -> list[Finding]: ...

    def snapshot(self) -> dict[str, Any] | None: ...

    def restore(self, state: dict[str, Any]) -> None: ...
