"""Is the wearable worn? Time off the body during waking hours becomes a technical finding."""

from __future__ import annotations

import json

import numpy as np

from detection.events import AccelBatch, FindingState, Motion, Severity, Stamp, Tick, VitalSign
from detection.worn import MESSAGE, WearSettings, WearSupervisor

DAY = 86400.0
EPOCH_DAY = 20000
H = 3600.0


def at(t: float) -> Stamp:
    return Stamp(t, EPOCH_DAY * DAY + t)


def hr(t: float, contact: bool, device: str = "watch") -> VitalSign:
    return VitalSign(device=device, at=at(t), heart_rate_bpm=70.0 if contact else None, skin_contact=contact)


def accel(t: float, sd: float, device: str = "pendant") -> AccelBatch:
    rng = np.random.default_rng(int(t))
    return AccelBatch(device=device, at=at(t), fs=25.0, samples=np.array([0, 0, 1.0]) + rng.normal(0, sd, (50, 3)))


def run(sup: WearSupervisor, start: float, end: float, make, step: float = 60.0):
    out = []
    t = start
    while t < end:
        for o in (make(t), Tick(at=at(t))):
            out += [(t, f) for f in sup.observe(o)]
        t += step
    return out


def test_watch_off_for_four_waking_hours_is_raised_then_cleared():
    sup = WearSupervisor(["watch"])
    assert run(sup, 8 * H, 9 * H, lambda t: hr(t, True)) == []
    raised = run(sup, 9 * H, 14 * H, lambda t: hr(t, False))
    assert len(raised) == 1
    t, f = raised[0]
    assert f.type == "not_worn" and f.severity is Severity.TECHNICAL and f.key == "not_worn:watch"
    assert f.evidence["message"] == MESSAGE
    assert 4 * H <= t - 9 * H <= 4 * H + 60
    cleared = run(sup, 14 * H, 14 * H + 120, lambda t: hr(t, True))
    assert [(f.type, f.state) for _, f in cleared] == [("not_worn", FindingState.CLEARED)]


def test_night_hours_do_not_count():
    sup = WearSupervisor(["watch"])
    raised = run(sup, 21 * H, DAY + 12 * H, lambda t: hr(t, False), step=120.0)
    assert len(raised) == 1
    # 1 h counted before 22:00, the night not at all, 3 h more from 07:00.
    assert abs(raised[0][0] - (DAY + 10 * H)) <= 240


def test_a_silent_wearable_is_not_counted_as_not_worn():
    sup = WearSupervisor(["watch"])
    sup.observe(hr(8 * H, False))
    assert run(sup, 8 * H, 20 * H, lambda t: Tick(at=at(t))) == []


def test_an_accelerometer_lying_still_is_not_worn_from_when_it_stopped():
    sup = WearSupervisor(["pendant"])
    assert run(sup, 8 * H, 9 * H, lambda t: accel(t, 0.05), step=30.0) == []
    raised = run(sup, 9 * H, 14 * H, lambda t: accel(t, 0.001), step=30.0)
    assert len(raised) == 1 and 4 * H <= raised[0][0] - 9 * H <= 4 * H + 60
    assert [f.state for _, f in run(sup, 14 * H, 14 * H + 60, lambda t: accel(t, 0.05), step=30.0)] == [
        FindingState.CLEARED]


def test_a_quiet_worn_pendant_is_not_off():
    sup = WearSupervisor(["pendant"])
    assert run(sup, 8 * H, 20 * H, lambda t: accel(t, 0.006), step=30.0) == []  # a person sitting still


def test_waking_hours_are_learned_from_home_motion():
    sup = WearSupervisor(["watch"], WearSettings(learn_min_days=3))
    for d in range(4):
        for hour in range(10, 20):  # a late riser
            sup.observe(Motion(device="pir", at=at(d * DAY + hour * H + 60)))
    assert sup.waking_hours_list() == list(range(10, 20))
    raised = run(sup, 4 * DAY + 8 * H, 4 * DAY + 16 * H, lambda t: hr(t, False))
    assert len(raised) == 1 and abs(raised[0][0] - (4 * DAY + 14 * H)) <= 120


def test_raised_survives_a_restart_and_is_cleared_after_it():
    sup = WearSupervisor(["watch"])
    run(sup, 9 * H, 14 * H, lambda t: hr(t, False))
    state = json.loads(json.dumps(sup.snapshot()))
    again = WearSupervisor(["watch"])
    again.restore(state)
    assert [f.state for _, f in run(again, 15 * H, 15 * H + 60, lambda t: hr(t, True))] == [FindingState.CLEARED]
    WearSupervisor(["watch"]).restore({"version": 1, "raised": "x", "motion_days": []})
