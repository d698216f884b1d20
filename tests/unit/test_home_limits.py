"""Issue 13: limits from the distribution of silences, trusted sensors, bounded silence, a wall clock
that jumps, learning you can see, and the replay's device names."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.events import Contact, Finding, FindingState, Motion, Stamp, Tick
from detection.home import HomeMonitor, HomeSettings
from detection.home.gaps import GapModel, context_key
from detection.home.monitor import STATE_VERSION
from gateway.config import Config
from gateway.home_replay import Event, detectors_for, home_config, observation, raised, timeline
from gateway.home_replay import run as run_detectors
from simulators.home import KINDS, generate, write_format_b

URGENT = ("inactivity", "room_dwell", "no_wake")
DAY = 86400.0
CTX = context_key("pir_k", "motion", 1, "", "kitchen")


def ticks(m: HomeMonitor, start: float, hours: float, local_offset: float = 0.0) -> list[Finding]:
    out: list[Finding] = []
    for k in range(1, int(hours * 120) + 1):
        s = start + k * 30
        out += m.observe(Tick(at=Stamp(s, s + local_offset)))
    return out


def urgent(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.type in URGENT and f.state is FindingState.RAISED]


def test_one_long_silence_does_not_set_the_limit():
    """Three weeks of a kitchen whose silences last minutes, plus one afternoon of 5 hours."""
    g = GapModel()
    for day in range(21):
        for i in range(30):
            g.record(CTX, 8 + i % 12, 60.0 * (1 + i % 10), day)
    g.record(CTX, 14, 5 * 3600.0, 10)
    limit = g.limit(CTX, 14, 45 * 60.0, 240 * 60.0, 3 * 3600.0)
    assert limit.learned and limit.seconds <= 150 * 60.0, "the limit follows the distribution, not the maximum"
    for day in (3, 17):  # long silences that come back are believed
        g.record(CTX, 14, 5 * 3600.0, day)
    assert g.limit(CTX, 14, 45 * 60.0, 240 * 60.0, 3 * 3600.0).seconds > limit.seconds


def test_a_context_where_long_silences_are_usual_gets_a_long_limit():
    g = GapModel()
    seat = context_key("seat", "seat", 1, "seat", "living")
    for day in range(21):
        for i in range(30):
            g.record(CTX, 8 + i % 12, 60.0 * (1 + i % 10), day)
        for hours in (1.0, 1.5, 2.0):
            g.record(seat, 14, hours * 3600, day)
    kitchen = g.limit(CTX, 14, 45 * 60.0, 240 * 60.0, 3 * 3600.0).seconds
    chair = g.limit(seat, 14, 45 * 60.0, 240 * 60.0, 3 * 3600.0).seconds
    assert kitchen < 60 * 60.0 < 2.5 * 3600 < chair <= 240 * 60.0


def test_no_wake_is_not_raised_after_a_forward_jump_of_the_wall_clock():
    """The Pi boots at 03:00 on a stale clock, the person moves, NTP moves the clock to 11:00."""
    m = HomeMonitor(HomeSettings())
    t, boot_local = 100.0, 5 * DAY + 3 * 3600.0
    m.observe(Motion(device="pir", at=Stamp(t, boot_local), room="kitchen"))
    jumped = 5 * DAY + 11 * 3600.0
    out = m.observe(Tick(at=Stamp(t + 30, jumped)))
    out += ticks(m, t + 30, 0.5, local_offset=jumped - (t + 30))
    assert [f for f in out if f.type == "no_wake"] == []


def test_no_wake_is_still_raised_after_a_real_night():
    m = HomeMonitor(HomeSettings())
    t = 5 * DAY + 23 * 3600.0
    m.observe(Motion(device="pir", at=Stamp(t, t), room="bedroom"))
    out = ticks(m, t, 12.5)
    assert "no_wake" in [f.type for f in urgent(out)]


def test_a_bathroom_door_is_not_going_out():
    """A home with door contacts only: the bathroom door closing, then nothing."""
    m = HomeMonitor(HomeSettings())
    t = 10 * 3600.0
    m.observe(Contact(device="door_bath", at=Stamp(t, t), room="bathroom", kind="door", active=True))
    m.observe(Contact(device="door_bath", at=Stamp(t + 5, t + 5), room="bathroom", kind="door", active=False))
    found = urgent(ticks(m, t + 5, 2))
    assert found and found[0].type == "room_dwell" and found[0].at.t - t <= 60 * 60


def test_away_is_bounded():
    m = HomeMonitor(HomeSettings())
    t = 9 * 3600.0
    m.observe(Motion(device="pir", at=Stamp(t, t), room="entrance"))
    m.observe(Contact(device="front", at=Stamp(t + 60, t + 60), room="entrance", kind="door", active=True))
    found = urgent(ticks(m, t + 60, 11))
    assert len(found) == 1 and found[0].evidence["away"]
    assert 8 * 3600 < found[0].at.t - t <= 10 * 3600 + 60


def test_armchair_by_day_is_raised_by_the_daytime_bound():
    m = HomeMonitor(HomeSettings())
    t = 10 * 3600.0
    m.observe(Contact(device="seat", at=Stamp(t, t), room="living", kind="seat", active=True))
    found = urgent(ticks(m, t, 5))
    assert found and found[0].at.t - t <= 240 * 60


def test_a_stuck_bed_mat_neither_hides_a_collapse_nor_stays_trusted():
    """The mat says occupied since last night; the person is up in the kitchen and collapses there."""
    m = HomeMonitor(HomeSettings())
    t = 22 * 3600.0
    m.observe(Contact(device="bed", at=Stamp(t, t), room="bedroom", kind="bed", active=False))
    m.observe(Contact(device="bed", at=Stamp(t + 60, t + 60), room="bedroom", kind="bed", active=True))
    out = ticks(m, t + 60, 9)
    morning = t + 60 + 9 * 3600
    for k in range(200):  # up and about all day, the mat never says "empty"
        s = morning + k * 180
        out += m.observe(Motion(device="pir_k", at=Stamp(s, s), room="kitchen"))
        out += m.observe(Tick(at=Stamp(s + 1, s + 1)))
    stuck = [f for f in out if f.type == "sensor_stuck"]
    assert stuck and stuck[0].device == "bed" and stuck[0].severity.value == "technical"
    last = morning + 199 * 180
    found = urgent(ticks(m, last, 5))
    assert found and found[0].at.t - last <= 240 * 60
    back = m.observe(Contact(device="bed", at=Stamp(last + 6 * 3600, last + 6 * 3600), room="bedroom", kind="bed",
                             active=False))
    assert any(f.type == "sensor_stuck" and f.state is FindingState.CLEARED for f in back)


def test_a_sensor_that_goes_silent_while_the_others_speak():
    m = HomeMonitor(HomeSettings())
    out: list[Finding] = []
    for k in range(40):  # the fridge is opened every hour or so, for a day and a half
        s = 8 * 3600 + k * 3000.0
        out += m.observe(Contact(device="fridge", at=Stamp(s, s), room="kitchen", kind="fridge", active=True))
        out += m.observe(Contact(device="fridge", at=Stamp(s + 9, s + 9), room="kitchen", kind="fridge", active=False))
    start = 8 * 3600 + 40 * 3000.0
    for k in range(200):  # then only the hall sensor, for three days
        s = start + k * 1300.0
        out += m.observe(Motion(device="pir_hall", at=Stamp(s, s), room="entrance"))
        out += m.observe(Tick(at=Stamp(s + 400, s + 400)))
    silent = [f for f in out if f.type == "sensor_silent" and f.state is FindingState.RAISED]
    assert [f.device for f in silent] == ["fridge"]


def test_learning_is_visible_and_survives_a_restart(tmp_path: Path):
    evs, acts = generate(12, seed=3, kind="mats")
    write_format_b(tmp_path, evs, acts, kind="mats")
    events = [Event(e.local, e.sensor, e.room, e.kind, e.state) for e in evs]
    dets = detectors_for(tmp_path, events, Config())
    list(run_detectors(dets, timeline(events, events[-1].local)))
    home = next(d for d in dets if d.name == "home")
    assert isinstance(home, HomeMonitor)
    seen = home.learning(15)
    assert not seen["learning"] and seen["days_learned"] >= 10
    row = seen["contexts"][0]
    assert set(row) >= {"context", "silences", "long_silences", "limit_min", "learned"}
    assert 25 <= row["limit_min"] <= 720
    again = HomeMonitor(HomeSettings())
    again.restore(home.snapshot() or {})
    restored = again.learning(15)
    assert [(r["context"], r["silences"], r["long_silences"]) for r in restored["contexts"]] == \
        [(r["context"], r["silences"], r["long_silences"]) for r in seen["contexts"]]
    for a, b in zip(restored["contexts"], seen["contexts"], strict=True):
        assert abs(a["limit_min"] - b["limit_min"]) <= 1.0  # silences are saved to 0.1 s
    fresh = HomeMonitor(HomeSettings()).learning(15)
    assert fresh["learning"] and fresh["contexts"] == []


def test_every_kind_of_synthetic_home_has_its_own_sensors(tmp_path: Path):
    kinds_seen = {}
    for kind in KINDS:
        evs, _ = generate(3, seed=1, kind=kind)
        kinds_seen[kind] = {e.kind for e in evs}
    assert "motion" not in kinds_seen["contacts"] and "door" in kinds_seen["contacts"]
    assert {"bed", "seat"}.isdisjoint(kinds_seen["motion"])
    assert {"bed", "seat", "motion"} <= kinds_seen["mats"]
    motion = [e for e in generate(3, seed=1, kind="motion")[0] if e.kind == "motion"]
    assert {e.state for e in motion} == {1}, "real PIRs only say 'movement'"


def test_replay_devices_are_named_as_the_observations_are(tmp_path: Path):
    """Supervision matches observations by device id: in replay both are the log's sensor names."""
    events = [Event(36000.0 + i * 60, name, "kitchen", "motion", 1) for i, name in enumerate(["Basin", "pir 2"])]
    cfg = home_config(tmp_path, events, Config())
    ids = {d.id for d in cfg.devices}
    assert ids == {observation(e).device for e in events} == {"Basin", "pir_2"}


def test_supervision_hears_replayed_sensors(tmp_path: Path):
    from dataclasses import replace

    events = [Event(36000.0 + i * 600, "Basin", "bathroom", "motion", 1) for i in range(20)]
    cfg = home_config(tmp_path, events, Config())
    cfg = replace(cfg, devices=[replace(d, offline_after_s=3600.0) for d in cfg.devices])
    from gateway.detectors import build_detectors

    found = list(raised(run_detectors(build_detectors(cfg), timeline(events, events[-1].local))))
    assert [f for f in found if f.type == "device_offline"] == []


def test_a_late_riser_collapsing_before_noon_is_raised_by_the_daytime_bound():
    """Waking at 10:30 puts no_wake at 12:00; a collapse in the chair at 11:30 is still a daytime silence."""
    m = HomeMonitor(HomeSettings())
    m.restore({"version": STATE_VERSION, "wake_times": [630.0] * 10})
    t = 30 * DAY + 11.5 * 3600
    m.observe(Contact(device="seat", at=Stamp(t, t), room="living", kind="seat", active=True))
    found = urgent(ticks(m, t, 6))
    assert found and found[0].at.t - t <= 240 * 60


def _night_owl() -> HomeMonitor:
    m = HomeMonitor(HomeSettings())
    day = {"activity": 200, "bathroom_visits": 6, "night_activity": 10, "kitchen_use": 40, "wake_min": 450.0,
           "bed_min": 1440.0 + 120}  # usually in bed at about 02:00
    m.restore({"version": STATE_VERSION, "routine": [day] * 10, "wake_times": [450.0] * 10})
    return m


def test_an_evening_collapse_is_not_taken_for_the_night():
    m = _night_owl()
    t = 30 * DAY + 19.5 * 3600
    m.observe(Contact(device="seat", at=Stamp(t, t), room="living", kind="seat", active=True))
    found = urgent(ticks(m, t, 5))
    assert found and found[0].at.t - t <= 240 * 60


def test_an_early_night_in_the_bedroom_is_still_a_night():
    m = _night_owl()
    bedroom = context_key("pir_bed", "motion", 1, "", "bedroom")
    for day in range(20):  # the nights this home has shown: from the bedroom sensor to the morning
        m.gaps.record(bedroom, 23, 8 * 3600.0, day)
        for i in range(40):
            m.gaps.record(CTX, 8 + i % 12, 120.0, day)
    t = 30 * DAY + 21.75 * 3600
    m.observe(Motion(device="pir_bed", at=Stamp(t, t), room="bedroom"))
    assert urgent(ticks(m, t, 8)) == []


def test_a_damaged_saved_state_is_refused_whole():
    m = HomeMonitor(HomeSettings())
    bad = {"version": STATE_VERSION, "gaps": {"contexts": ["a:1/kitchen#~motion:1"], "silences": [[0, 7, 10, 60.0]]}}
    with pytest.raises(IndexError):  # a silence naming a context that is not there is not read
        m.restore(bad)
    assert m.gaps.days() == 0 and m.learning(10)["contexts"] == []


def test_back_to_bed_after_the_night_toilet_is_not_a_bathroom_alarm():
    """No bedroom sensor (or a stuck mat): the night's flush is this home's last sign of life until morning."""
    m = HomeMonitor(HomeSettings())
    flush = context_key("toilet", "toilet_flush", 0, "", "bathroom")
    for day in range(20):
        m.gaps.record(flush, 2, 5 * 3600.0, day)
        for i in range(40):
            m.gaps.record(flush if i % 10 == 0 else CTX, 8 + i % 12, 120.0, day)
    t = 30 * DAY + 2 * 3600
    m.observe(Contact(device="toilet", at=Stamp(t, t), room="bathroom", kind="toilet_flush", active=False))
    assert urgent(ticks(m, t, 5)) == []
    m.observe(Contact(device="toilet", at=Stamp(t + 8 * 3600, t + 8 * 3600), room="bathroom", kind="toilet_flush",
                      active=False))
    by_day = urgent(ticks(m, t + 8 * 3600, 5))
    assert by_day and by_day[0].at.t - (t + 8 * 3600) <= 240 * 60, "by day the same flush is bounded"
