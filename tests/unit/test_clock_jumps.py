"""A jump of the wall clock raises nothing by itself (issue 11: "clock jumps forward and back").

The hub stamps every observation with two clocks (docs/architecture.md, "Two
clocks"): ``t`` from the monotonic clock for intervals, ``local`` from the wall
clock for time of day. Here the wall clock under ``gateway/clock.py`` jumps
(NTP after a boot with a stale clock, a daylight-saving change, someone setting
it) while one person lives the same day by the real time. The detectors the
daemon runs, restored from a week of learning exactly as the daemon restores
them, must raise nothing that the same day without the jump does not raise:
across wake-up time, into and out of night hours, across midnight, and from 1970.
"""

from __future__ import annotations

import random
import time as real_time
from collections import Counter
from typing import Any

import pytest

import gateway.clock
from detection.events import DeviceStatus, FindingState, Motion, Observation, Tick
from detection.home import HomeMonitor
from detection.supervision import DeviceSupervisor
from gateway.clock import HubClock

DAY = 86400.0
H = 3600.0
START = 1_780_000_000.0 // DAY * DAY  # a midnight (local = UTC here), June 2026
ROOMS = {"pir-bed": "bedroom", "pir-bath": "bathroom", "pir-kitchen": "kitchen", "pir-living": "living"}


class FakeTime:
    """Stands in for the ``time`` module inside gateway.clock: the test moves both clocks."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = START
        self.synced = True  # what the kernel says of NTP

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def localtime(self, secs: float) -> real_time.struct_time:
        return real_time.gmtime(secs)  # a UTC hub: local == wall; the jump is what matters


def day_of_life(day: int) -> list[tuple[float, str]]:
    """(real local time, sensor) for one ordinary day: up at ~07:00, in bed at ~22:30."""
    rng = random.Random(day)
    base = START + day * DAY
    out: list[tuple[float, str]] = []

    def every(start_h: float, end_h: float, step_min: float, dev: str) -> None:
        t = base + start_h * H
        while t < base + end_h * H:
            out.append((t + rng.uniform(-60, 60), dev))
            t += step_min * 60

    jitter = rng.uniform(-15, 15) * 60
    out.append((base + 7 * H + jitter, "pir-bed"))
    out.append((base + 7 * H + jitter + 300, "pir-bath"))
    every(7.25, 8.0, 5, "pir-kitchen")
    every(8.0, 12.0, 12, "pir-living")
    every(12.0, 12.75, 5, "pir-kitchen")
    every(12.75, 17.5, 12, "pir-living")
    out.append((base + 15 * H, "pir-bath"))
    every(17.5, 18.25, 5, "pir-kitchen")
    every(18.25, 22.0, 12, "pir-living")
    out.append((base + 20.5 * H, "pir-bath"))
    out.append((base + 22.25 * H, "pir-bath"))
    out.append((base + 22.5 * H + jitter, "pir-bed"))
    return sorted(out)


def detectors() -> list[Any]:
    return [HomeMonitor(), DeviceSupervisor({"pendant": (1800.0, None), **{d: (0.0, r) for d, r in ROOMS.items()}})]


def live(dets: list[Any], fake: FakeTime, clock: HubClock, real_from: float, real_to: float,
         jump: Jump | None = None) -> list[Any]:
    """Run the detectors over one stretch of this person's life, the clocks moved as ``jump`` says.

    The person lives by local time ``t`` (seconds). Ticks every 30 s as in the daemon,
    the pendant's status every 10 min, the sensors as the day has them.
    """
    days = range(int(real_from // DAY - START // DAY) - 1, int(real_to // DAY - START // DAY) + 1)
    events = [(t, d) for day in days for t, d in day_of_life(day) if real_from <= t < real_to]
    events += [(float(t), "pendant") for t in range(int(real_from), int(real_to), 600)]
    events += [(float(t), "tick") for t in range(int(real_from), int(real_to), 30)]
    events.sort(key=lambda e: e[0])
    mono0 = fake.mono - real_from
    found = []
    for t, dev in events:
        if jump is None:
            fake.mono, fake.wall, fake.synced = mono0 + t, t, True
        else:
            moved = jump.clocks(t)
            if moved is None:
                continue  # a local hour that never happens (clocks go forward)
            mono, fake.wall, fake.synced = moved
            fake.mono = mono0 + mono
        at = clock.now()
        obs: Observation
        if dev == "tick":
            obs = Tick(at=at)
        elif dev == "pendant":
            obs = DeviceStatus(device="pendant", at=at, battery_low=False)
        else:
            obs = Motion(device=dev, at=at, room=ROOMS[dev])
        for det in dets:
            found += det.observe(obs)
    return found


class Jump:
    """How the hub's clocks stand at the person's local time ``t``: (monotonic, wall, NTP synced).

    ``ntp``: the wall clock is ``off`` seconds wrong and unsynced until ``at``, then right
    (a boot without a real-time clock). ``dst``: the local clock moves by ``off`` at ``at``
    and the person follows it; the monotonic clock does not move.
    """

    def __init__(self, kind: str, at: float, off: float) -> None:
        self.kind, self.at, self.off = kind, at, off

    def clocks(self, t: float) -> tuple[float, float, bool] | None:
        if self.kind == "ntp":
            return (t, t + self.off, False) if t < self.at else (t, t, True)
        if t < self.at:
            return t, t, True
        if self.off > 0 and t < self.at + self.off:
            return None
        return t - self.off, t, True


@pytest.fixture(scope="module")
def learned() -> dict[str, Any]:
    """A week of this person's life with a right clock, saved as the daemon saves baselines."""
    fake = FakeTime()
    mp = pytest.MonkeyPatch()
    mp.setattr(gateway.clock, "time", fake)
    try:
        dets = detectors()
        live(dets, fake, HubClock(synced=lambda: True), START, START + 8 * DAY)
        return {d.name: d.snapshot() for d in dets}
    finally:
        mp.undo()


def raised(findings: list[Any]) -> Counter[str]:
    return Counter(f.type for f in findings if f.state is FindingState.RAISED)


# name -> (hub restart, jump: kind, at (local hours on day 9), seconds off)
SCENARIOS = {
    "NTP forward across wake-up time": (5.0, ("ntp", 9.5, -4 * H)),
    "NTP back across wake-up time": (4.0, ("ntp", 6.0, 4 * H)),
    "NTP forward into night hours": (20.0, ("ntp", 23.0, -3 * H)),
    "NTP back out of night hours": (18.0, ("ntp", 21.0, 5 * H)),
    "NTP forward across midnight": (21.0, ("ntp", 25.0, -2 * H)),
    "NTP back across midnight": (23.0, ("ntp", 23.75, 2 * H)),
    "booted in 1970, NTP at 06:55": (6.5, ("ntp", 6.9, -(START + 8 * DAY))),
    "daylight saving: clocks forward at 02:00": (20.0, ("dst", 26.0, H)),
    "daylight saving: clocks back at 03:00": (20.0, ("dst", 27.0, -H)),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_clock_jump_raises_nothing_the_same_day_without_it_does_not(name, learned, monkeypatch):
    restart_h, (kind, jump_h, off) = SCENARIOS[name]
    day9 = START + 8 * DAY
    real_from, real_to = day9 + restart_h * H, day9 + restart_h * H + 30 * H

    def run(jump: Jump | None) -> list[Any]:
        fake = FakeTime()
        monkeypatch.setattr(gateway.clock, "time", fake)
        dets = detectors()
        for d in dets:
            d.restore(learned[d.name])
        return live(dets, fake, HubClock(synced=lambda: fake.synced), real_from, real_to, jump)

    control = run(None)
    jumped = run(Jump(kind, day9 + jump_h * H, off))
    extra = raised(jumped) - raised(control)
    detail = [(f.type, f.severity.value, f.evidence) for f in jumped
              if f.state is FindingState.RAISED and f.type in extra]
    assert not extra, f"{name}: the jump alone raised {dict(extra)}: {detail}"


def test_the_hubs_clock_keeps_intervals_and_alert_times_through_a_jump(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(gateway.clock, "time", fake)
    clock = HubClock(synced=lambda: True)
    a = clock.now()
    fake.mono += 60
    fake.wall += 60 + 6 * H  # NTP: six hours forward
    b = clock.now()
    assert b.t - a.t == 60  # intervals are monotonic
    assert b.local - a.local == 60 + 6 * H  # time of day follows the wall clock
    # The time of an earlier observation is reported on the corrected clock.
    assert clock.utc_of(a) == fake.wall - 60
