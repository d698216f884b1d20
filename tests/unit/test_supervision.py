"""Supervision: silence, battery and not-worn are raised once and cleared once."""

from __future__ import annotations

from detection.events import DeviceStatus, FindingState, Motion, Stamp, Tick
from detection.supervision import DeviceSupervisor


def tick(t: float) -> Tick:
    return Tick(at=Stamp(t, t))


def test_silence_raises_once_and_clears_when_heard():
    s = DeviceSupervisor({"pendant": (600.0, None), "pir": (0.0, "hall")})
    assert s.observe(tick(0)) == []
    assert s.observe(tick(599)) == []
    (f,) = s.observe(tick(601))
    assert f.type == "device_offline" and f.device == "pendant" and f.state is FindingState.RAISED
    assert s.observe(tick(1200)) == []  # once, not every tick
    (c,) = s.observe(Motion(device="pendant", at=Stamp(1300, 1300)))
    assert c.state is FindingState.CLEARED
    assert s.observe(tick(100000)) != []  # pendant silent again; the pir (limit 0) never


def test_battery_low_once():
    s = DeviceSupervisor({"pir": (0.0, "hall")})
    low = lambda t: DeviceStatus(device="pir", at=Stamp(t, t), battery_low=True)  # noqa: E731
    out = [f for t in range(10) for f in s.observe(low(t * 60))]
    assert [f.type for f in out] == ["battery_low"]
    (ok,) = s.observe(DeviceStatus(device="pir", at=Stamp(999, 999), battery_low=False))
    assert ok.state is FindingState.CLEARED


def test_not_worn():
    s = DeviceSupervisor({"w": (600.0, None)})
    (f,) = s.observe(DeviceStatus(device="w", at=Stamp(1, 1), worn=False))
    assert f.type == "not_worn"
    assert s.observe(DeviceStatus(device="w", at=Stamp(2, 2), worn=False)) == []
    (c,) = s.observe(DeviceStatus(device="w", at=Stamp(3, 3), worn=True))
    assert c.state is FindingState.CLEARED
