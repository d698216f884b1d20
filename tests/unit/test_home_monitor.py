"""Home monitoring on synthetic routines, with and without the injected event."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.events import Contact, FindingState, Motion, Stamp, Tick
from detection.home import HomeMonitor, HomeSettings
from gateway.config import Config
from gateway.home_replay import Event, detectors_for, raised, timeline
from gateway.home_replay import run as run_detectors
from gateway.store import Store
from simulators.home import Injection, generate, write_format_b

URGENT = ("inactivity", "room_dwell", "no_wake")


def replay(folder: Path, events: list[Event], until: float, monitor_state: dict | None = None):
    dets = detectors_for(folder, events, Config())
    if monitor_state is not None:
        for d in dets:
            if d.name == "home":
                d.restore(monitor_state)
    return list(raised(run_detectors(dets, timeline(events, until)))), dets


def synthetic(tmp_path: Path, days: int, seed: int, *inj: Injection) -> tuple[Path, list[Event]]:
    evs, acts = generate(days, seed, injections=inj)
    folder = tmp_path / f"home-{seed}-{len(inj)}"
    write_format_b(folder, evs, acts)
    return folder, [Event(e.local, e.sensor, e.room, e.kind, e.state) for e in evs]


def test_a_normal_month_raises_no_urgent_alert_after_learning(tmp_path):
    folder, events = synthetic(tmp_path, 21, seed=5)
    found, _ = replay(folder, events, events[-1].local)
    learned_from = events[0].local + 7 * 86400
    assert [f for f in found if f.type in URGENT and f.at.local > learned_from] == []


def test_collapse_is_found_within_hours(tmp_path):
    folder, events = synthetic(tmp_path, 12, 5, Injection("collapse", 10))
    last = events[-1].local
    found, _ = replay(folder, events, last + 6 * 3600)
    after = [f for f in found if f.type in URGENT and f.at.local > last]
    assert after, "the collapse went unnoticed"
    assert after[0].at.local - last <= 4 * 3600


def test_bathroom_fall_is_a_room_dwell_within_an_hour(tmp_path):
    folder, events = synthetic(tmp_path, 12, 6, Injection("bathroom_fall", 10))
    last = events[-1].local
    found, _ = replay(folder, events, last + 6 * 3600)
    after = [f for f in found if f.at.local > last and f.type in URGENT]
    assert after and after[0].type == "room_dwell" and after[0].room == "bathroom"
    assert after[0].at.local - last <= 3600


def test_missed_morning_raises_no_wake(tmp_path):
    folder, events = synthetic(tmp_path, 12, 7, Injection("missed_morning", 10))
    found, _ = replay(folder, events, events[-1].local)
    day10 = events[0].local - events[0].local % 86400 + 10 * 86400
    wake = [f for f in found if f.type == "no_wake" and day10 <= f.at.local < day10 + 86400]
    assert len(wake) == 1 and wake[0].severity.value == "urgent"


def test_restless_nights_become_a_wellbeing_notice(tmp_path):
    folder, events = synthetic(tmp_path, 16, 8, Injection("restless_nights", 12))
    found, _ = replay(folder, events, events[-1].local + 86400)
    notes = [f for f in found if f.type == "wellbeing"]
    assert any(n.evidence["metric"] in ("night_activity", "bathroom_visits") for n in notes)
    per_metric_day = [(n.evidence["metric"], n.evidence["day"]) for n in notes]
    assert len(per_metric_day) == len(set(per_metric_day)), "at most one notice per metric per day"


def test_away_is_not_a_collapse():
    m = HomeMonitor(HomeSettings())
    t = 10 * 3600.0
    m.observe(Motion(device="pir", at=Stamp(t, t), room="entrance"))
    m.observe(Contact(device="door", at=Stamp(t + 60, t + 60), room="entrance", kind="door", active=True))
    out = []
    for k in range(1, 8 * 120):
        s = t + 60 + k * 30
        out += m.observe(Tick(at=Stamp(s, s)))
    assert [f for f in out if f.type in URGENT] == []


def test_asleep_in_bed_is_not_inactivity_before_the_sleep_ceiling():
    m = HomeMonitor(HomeSettings())
    t = 22 * 3600.0
    m.observe(Contact(device="bed", at=Stamp(t, t), room="bedroom", kind="bed", active=True))
    out = []
    for k in range(1, 8 * 120):  # 8 hours of ticks
        s = t + k * 30
        out += m.observe(Tick(at=Stamp(s, s)))
    assert [f for f in out if f.type in ("inactivity", "room_dwell")] == []


def test_inactivity_clears_when_motion_resumes():
    m = HomeMonitor(HomeSettings())
    t = 10 * 3600.0
    m.observe(Motion(device="pir", at=Stamp(t, t), room="kitchen"))
    out = []
    for k in range(1, 5 * 120):
        s = t + k * 30
        out += m.observe(Tick(at=Stamp(s, s)))
    assert [f.type for f in out if f.state is FindingState.RAISED] == ["inactivity"]
    end = t + 5 * 3600
    cleared = m.observe(Motion(device="pir", at=Stamp(end, end), room="kitchen"))
    assert [f.state for f in cleared] == [FindingState.CLEARED]


def test_clock_jump_of_local_time_is_not_silence():
    """The Pi boots in the past and NTP jumps local time by a day: t (monotonic) decides."""
    m = HomeMonitor(HomeSettings())
    t, local = 100.0, 10 * 3600.0
    m.observe(Motion(device="pir", at=Stamp(t, local), room="kitchen"))
    out = m.observe(Tick(at=Stamp(t + 30, local + 86400 * 3)))
    assert out == []


def test_baselines_survive_a_restart(tmp_path):
    folder, events = synthetic(tmp_path, 10, 9)
    _, dets = replay(folder, events, events[-1].local)
    home = next(d for d in dets if d.name == "home")
    store = Store(tmp_path / "state.db")
    store.save_baseline("home", home.snapshot())
    store.close()
    state = Store(tmp_path / "state.db").load_baseline("home")
    assert state is not None and len(state["gaps"]["silences"]) > 100 and len(state["wake_times"]) >= 5
    restored = HomeMonitor(HomeSettings())
    restored.restore(state)
    assert restored.snapshot() == home.snapshot()
    restored.restore({"version": 999})  # a format it does not know is ignored, not misread
    assert restored.snapshot() == home.snapshot()


def test_replay_is_deterministic(tmp_path):
    folder, events = synthetic(tmp_path, 9, 10)
    a, _ = replay(folder, events, events[-1].local + 86400)
    b, _ = replay(folder, events, events[-1].local + 86400)
    assert [(f.type, f.at, f.evidence) for f in a] == [(f.type, f.at, f.evidence) for f in b]


@pytest.mark.parametrize("bad_day", [0])
def test_visitors_do_not_break_it(tmp_path, bad_day):
    m = HomeMonitor(HomeSettings())
    t = 15 * 3600.0
    for k, room in enumerate(["living", "kitchen", "entrance", "living"]):
        m.observe(Motion(device=f"pir_{room}", at=Stamp(t + k * 2, t + k * 2), room=room))
    assert m._visitors_until > t


def test_out_of_bed_at_night_far_longer_than_usual():
    m = HomeMonitor(HomeSettings())
    night = 2 * 3600.0
    for day in range(6):  # learn: up for ~10 minutes each night
        t = day * 86400 + night
        m.observe(Contact(device="bed", at=Stamp(t, t), room="bedroom", kind="bed", active=False))
        m.observe(Motion(device="pir", at=Stamp(t + 60, t + 60), room="bathroom"))
        m.observe(Contact(device="bed", at=Stamp(t + 600, t + 600), room="bedroom", kind="bed", active=True))
    t = 6 * 86400 + night
    m.observe(Contact(device="bed", at=Stamp(t, t), room="bedroom", kind="bed", active=False))
    out = []
    for k in range(1, 120):  # up and about (the kitchen PIR keeps seeing movement), for an hour
        s = t + k * 30
        if k % 4 == 0:
            out += m.observe(Motion(device="pir_k", at=Stamp(s, s), room="kitchen"))
        out += m.observe(Tick(at=Stamp(s, s)))
    raised_ = [f for f in out if f.type == "night_out_of_bed" and f.state is FindingState.RAISED]
    assert len(raised_) == 1 and raised_[0].evidence["limit_min"] < 60
    back = m.observe(Contact(device="bed", at=Stamp(t + 4000, t + 4000), room="bedroom", kind="bed", active=True))
    assert any(f.type == "night_out_of_bed" and f.state is FindingState.CLEARED for f in back)
