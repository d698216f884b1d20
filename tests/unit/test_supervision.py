"""Supervision: silence, battery and not-worn are raised once and cleared once, across restarts too."""

from __future__ import annotations

import json

from detection.events import DeviceStatus, FindingState, Motion, Stamp, Tick
from detection.supervision import DeviceSupervisor
from gateway.pipeline import Pipeline
from gateway.store import Store


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


# --- state across restarts (issue 11, item 13) --------------------------------


def _restarted(before: DeviceSupervisor, devices: dict[str, tuple[float, str | None]]) -> DeviceSupervisor:
    """A new process: a fresh detector given only what the old one saved, through JSON like the store."""
    after = DeviceSupervisor(devices)
    snap = before.snapshot()
    assert snap is not None
    after.restore(json.loads(json.dumps(snap)))
    return after


def test_battery_low_open_before_a_restart_is_cleared_after_it():
    devices = {"pir": (0.0, "hall")}
    s = DeviceSupervisor(devices)
    (f,) = s.observe(DeviceStatus(device="pir", at=Stamp(10, 10), battery_low=True))
    assert f.state is FindingState.RAISED
    s2 = _restarted(s, devices)
    (c,) = s2.observe(DeviceStatus(device="pir", at=Stamp(5, 5), battery_low=False))
    assert c.type == "battery_low" and c.state is FindingState.CLEARED and c.key == "battery_low:pir"


def test_battery_low_is_raised_once_across_restarts():
    devices = {"pir": (0.0, "hall")}
    s = DeviceSupervisor(devices)
    assert len(s.observe(DeviceStatus(device="pir", at=Stamp(10, 10), battery_low=True))) == 1
    for _ in range(3):
        s = _restarted(s, devices)
        assert s.observe(DeviceStatus(device="pir", at=Stamp(1, 1), battery_low=True)) == []


def test_offline_and_not_worn_open_before_a_restart_are_cleared_after_it():
    devices = {"pendant": (600.0, None)}
    s = DeviceSupervisor(devices)
    (nw,) = s.observe(DeviceStatus(device="pendant", at=Stamp(0, 0), worn=False))
    assert nw.type == "not_worn"
    s.observe(tick(1))
    (off,) = s.observe(tick(700))
    assert off.type == "device_offline"
    # Monotonic times restart from a small number after a reboot: only the flags carry over.
    s2 = _restarted(s, devices)
    assert s2.observe(tick(3)) == []
    assert s2.observe(tick(3 + 650)) == []  # still silent, already offline: not raised a second time
    found = s2.observe(DeviceStatus(device="pendant", at=Stamp(700, 700), worn=True))
    assert sorted((f.type, f.state) for f in found) == [
        ("device_offline", FindingState.CLEARED), ("not_worn", FindingState.CLEARED)]


def test_restore_ignores_removed_devices_and_other_formats():
    s = DeviceSupervisor({"pir": (0.0, None)})
    s.restore({"version": 99, "raised": {"pir": ["battery_low"]}})
    s.restore({"version": 1, "raised": {"gone": ["battery_low"], "pir": "garbage"}})
    s.restore({"version": 1, "raised": ["not", "a", "table"]})
    assert s.snapshot() == {"version": 1, "raised": {}}
    (f,) = s.observe(DeviceStatus(device="pir", at=Stamp(1, 1), battery_low=True))
    assert f.state is FindingState.RAISED


class _Clock:
    def now(self) -> Stamp:
        return Stamp(1.0, 1.0)

    def utc_of(self, stamp: Stamp) -> float:
        return 1_700_000_000 + stamp.t


def test_state_is_stored_when_it_changes_so_a_crash_keeps_it(tmp_path):
    """The hourly save and the one at a clean stop are not enough: a SIGKILL loses both."""
    devices = {"pir": (0.0, "hall")}
    store = Store(tmp_path / "s.db")
    p = Pipeline([DeviceSupervisor(devices)], lambda f: None, _Clock(), store)  # type: ignore[arg-type]
    p.submit(DeviceStatus(device="pir", at=Stamp(5, 5), battery_low=True))
    store.close()  # no save_baselines(): the process died here
    reopened = Store(tmp_path / "s.db")
    s2 = DeviceSupervisor(devices)
    state = reopened.load_baseline("supervision")
    assert state is not None
    s2.restore(state)
    (c,) = s2.observe(DeviceStatus(device="pir", at=Stamp(1, 1), battery_low=False))
    assert c.state is FindingState.CLEARED
