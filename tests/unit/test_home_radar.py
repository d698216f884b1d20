"""What a presence radar changes in the home monitor (detection/home/presence.py, monitor.py).

Someone the radar sees, silent, in the bathroom is held to the stillness limit (sooner than silence
alone); a radar that saw the person leave, with the front door used, is "away"; sitting on the toilet
is not a collapse; blips, ghosts and lost targets are what the radar physics says they are.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import Contact, Finding, FindingState, Motion, Presence, PresenceState, Stamp, Tick
from detection.home import HomeMonitor, HomeSettings
from gateway.config import Config
from gateway.config.schema import RadarConfig
from gateway.detectors import build_detectors
from gateway.home_replay import Event, detectors_for, raised, timeline
from gateway.home_replay import run as run_detectors
from simulators.home import Injection, generate, write_format_b

DAY = 86400.0
T0 = 20 * DAY + 10 * 3600.0  # 10:00 on a day well after the epoch
URGENT = ("inactivity", "room_dwell", "no_wake")


class Home:
    """A monitor fed by hand, on one clock."""

    def __init__(self, settings: HomeSettings | None = None) -> None:
        self.m = HomeMonitor(settings or HomeSettings())
        self.t = T0
        self.found: list[Finding] = []

    def at(self, dt: float = 0.0) -> Stamp:
        return Stamp(self.t + dt, self.t + dt)

    def motion(self, room: str, device: str | None = None) -> None:
        self.found += self.m.observe(Motion(device=device or f"pir-{room}", at=self.at(), room=room))

    def door(self) -> None:
        for active in (True, False):
            self.found += self.m.observe(Contact(device="door", at=self.at(), room="entrance", kind="door",
                                                 active=active))

    def radar(self, state: PresenceState, room: str = "bathroom", distance: float | None = 0.6) -> None:
        self.found += self.m.observe(Presence(device=f"radar-{room}", at=self.at(), room=room, state=state,
                                              distance_m=distance))

    def wait(self, seconds: float) -> list[Finding]:
        """Ticks every 30 s for ``seconds``; the findings they raised."""
        out: list[Finding] = []
        end = self.t + seconds
        while self.t + 30 <= end:
            self.t += 30
            out += self.m.observe(Tick(at=self.at()))
        self.t = end
        self.found += out
        return out


def _urgent(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.type in URGENT and f.state is FindingState.RAISED]


def _into_the_bathroom_and_still(h: Home) -> float:
    h.motion("entrance")
    h.t += 5
    h.radar(PresenceState.MOVING, distance=1.5)  # she walks in...
    start = h.t
    h.t += 5
    h.radar(PresenceState.STILL)  # ...and does not move again
    return start


def test_still_in_the_bathroom_raises_room_dwell_with_the_radar_sooner_than_silence():
    radar = Home()
    start = _into_the_bathroom_and_still(radar)
    (f,) = _urgent(radar.wait(3 * 3600))
    assert (f.type, f.room, f.device, f.key) == ("room_dwell", "bathroom", "radar-bathroom", "inactivity")
    assert f.evidence["source"] == "radar" and f.evidence["radar_says"] == "here"
    assert f.evidence["distance_m"] == 0.6 and f.evidence["radar_state"] == "still"
    with_radar = f.at.t - start
    assert 25 * 60 - 60 <= with_radar <= 30 * 60  # the stillness rails: 25 to 30 min (default 30)

    silent = Home()  # the same visit, seen by a PIR that stops seeing her
    silent.motion("entrance")
    silent.t += 5
    silent.motion("bathroom")
    (g,) = _urgent(silent.wait(3 * 3600))
    assert g.type == "room_dwell" and "source" not in g.evidence
    assert with_radar < g.at.t - (T0 + 5)


def _learned_bathroom_visits(h: Home, days: int, minutes: float) -> None:
    """Days of bathroom visits seen by the radar: in, still for ``minutes``, out; the kitchen between."""
    for _ in range(days):
        day_start = h.t
        for _ in range(12):
            _into_the_bathroom_and_still(h)
            h.wait(minutes * 60)
            h.radar(PresenceState.MOVING, distance=2.5)  # gets up and goes
            h.t += 3
            h.radar(PresenceState.NONE, distance=None)
            h.t += 10
            h.motion("kitchen")
            h.wait(20 * 60)
            h.motion("kitchen")
            h.wait(20 * 60)
        h.wait(day_start + DAY - h.t)


def test_sitting_still_on_the_toilet_for_15_or_20_minutes_raises_nothing():
    h = Home()
    _into_the_bathroom_and_still(h)
    assert _urgent(h.wait(15 * 60)) == []  # before anything is learned
    h.radar(PresenceState.MOVING, distance=2.5)
    h.t += 3
    h.radar(PresenceState.NONE, distance=None)
    h.motion("kitchen")
    _learned_bathroom_visits(h, 5, 5.0)  # five days of five-minute visits
    assert h.m.still.days() >= 3 and [f for f in h.found if f.type == "room_dwell"] == []
    start = _into_the_bathroom_and_still(h)
    assert _urgent(h.wait(20 * 60)) == []  # learned short visits, and still not under the 25 min floor
    (f,) = _urgent(h.wait(15 * 60))
    assert f.type == "room_dwell" and f.evidence["learned"] is True and 25.0 <= f.evidence["limit_min"] <= 30.0
    assert f.at.t - start <= 30 * 60


def test_a_blip_neither_resets_nor_clears_but_lasting_movement_clears():
    h = Home()
    start = _into_the_bathroom_and_still(h)
    h.wait(600)
    h.radar(PresenceState.MOVING)  # a breath, a twitch: 5 s of "moving" where she lies
    h.t += 5
    h.radar(PresenceState.STILL)
    (f,) = _urgent(h.wait(3600))
    assert f.at.t - start <= 30 * 60  # counted from before the blip
    h.radar(PresenceState.MOVING)
    assert h.wait(20) == []  # not lasting yet
    cleared = h.wait(40)
    assert [(c.type, c.state) for c in cleared] == [("room_dwell", FindingState.CLEARED)]


def test_a_radar_that_loses_a_still_person_does_not_make_her_gone():
    h = Home()
    start = _into_the_bathroom_and_still(h)
    h.wait(300)
    h.radar(PresenceState.NONE, distance=None)  # lying far from it: the LD2410 drops a still target
    (f,) = _urgent(h.wait(3600))
    assert f.type == "room_dwell" and f.at.t - start <= 30 * 60


def test_a_radar_whose_last_word_was_moving_does_not_hide_the_silence_after_it():
    h = Home()  # she walked in and fell, and the radar's adapter died before it said "still"
    h.motion("entrance")
    h.t += 5
    h.radar(PresenceState.MOVING, distance=1.2)
    (f,) = _urgent(h.wait(3 * 3600))
    assert f.type == "room_dwell" and f.at.t - (T0 + 5) <= 30 * 60


def test_a_ghost_target_in_a_room_nobody_walked_into_raises_nothing():
    h = Home()
    h.motion("living")
    h.t += 5
    h.radar(PresenceState.STILL)  # a radiator in the bathroom, never a person walking in
    assert [f for f in h.wait(2 * 3600) if f.type == "room_dwell"] == []


def test_a_sign_of_life_elsewhere_means_nobody_is_in_the_bathroom_whatever_its_radar_says():
    h = Home()
    _into_the_bathroom_and_still(h)
    h.t += 60
    h.motion("entrance")  # she is in the hall, the radar still holds its "still" target
    h.t += 20
    h.motion("living")
    assert [f for f in h.wait(2 * 3600) if f.type == "room_dwell"] == []


def test_a_presence_only_radar_that_sees_her_come_in_places_her_in_the_bathroom():
    h = Home()  # an MR60FDA2, a Zigbee presence sensor, a home log's "presence": someone, or nobody
    h.motion("entrance")
    h.t += 5
    h.radar(PresenceState.PRESENT, distance=None)
    (f,) = _urgent(h.wait(3 * 3600))
    assert (f.type, f.room, f.device) == ("room_dwell", "bathroom", "radar-bathroom")
    assert f.at.t - T0 <= 30 * 60


def test_empty_radars_and_the_front_door_is_away_not_a_collapse():
    h = Home()
    h.motion("living")
    h.radar(PresenceState.MOVING, room="living")
    h.t += 600
    h.radar(PresenceState.MOVING, room="living", distance=3.0)
    h.t += 3
    h.radar(PresenceState.NONE, room="living", distance=None)  # she walked out of the living room
    h.t += 10
    h.motion("entrance")
    h.t += 20
    h.door()
    assert _urgent(h.wait(8 * 3600)) == []  # out: bounded only by the away ceiling (10 h)


def test_a_radar_that_sees_someone_just_inside_the_door_is_not_an_outing():
    h = Home()
    h.motion("entrance")
    h.t += 20
    h.door()
    h.t += 5
    h.radar(PresenceState.MOVING, room="entrance", distance=1.0)
    h.t += 3
    h.radar(PresenceState.STILL, room="entrance", distance=0.8)  # on the floor of the hall
    (f,) = _urgent(h.wait(8 * 3600))
    assert f.type == "inactivity" and f.evidence["away"] is False and f.at.t - T0 <= 4 * 3600


def test_empty_radars_without_the_front_door_do_not_prove_away():
    h = Home()
    h.motion("living")
    h.radar(PresenceState.MOVING, room="living")
    h.t += 60
    h.radar(PresenceState.NONE, room="living", distance=None)  # she left, to a room no radar sees
    h.radar(PresenceState.NONE, room="bathroom", distance=None)
    (f,) = _urgent(h.wait(8 * 3600))
    assert f.type == "inactivity" and f.evidence["away"] is False and f.at.t - T0 <= 4 * 3600


def test_left_the_bathroom_silently_is_not_room_dwell():
    h = Home()
    _into_the_bathroom_and_still(h)
    h.wait(120)
    h.radar(PresenceState.MOVING, distance=2.5)
    h.t += 3
    h.radar(PresenceState.NONE, distance=None)  # out, into a bedroom with no sensor
    found = _urgent(h.wait(5 * 3600))
    assert [f.type for f in found] == ["inactivity"] and found[0].evidence["radar_says"] == "left"
    assert found[0].at.t - T0 >= 45 * 60  # not the bathroom's limits


def test_the_daemons_config_gives_radar_limits_to_the_home_monitor_alone():
    cfg = Config(radars=[RadarConfig(id="r-bath", model="ld2410", port="/dev/null", room="bathroom"),
                         RadarConfig(id="r-own", model="ld2410", port="/dev/null", room="kitchen",
                                     still_alert_min=45.0),
                         RadarConfig(id="r-off", model="ld2410", port="/dev/null", room="bedroom",
                                     still_alert_min=0.0)])
    dets = build_detectors(cfg)
    assert "radar_dwell" not in {d.name for d in dets}  # one place decides room dwell
    (home,) = [d for d in dets if isinstance(d, HomeMonitor)]
    assert dict(home.s.radar_still_min) == {"r-own": 45.0, "r-off": 0.0}

    h = Home(home.s)
    h.motion("entrance")
    h.t += 5
    h.found += h.m.observe(Presence(device="r-own", at=h.at(), room="kitchen", state=PresenceState.MOVING))
    h.t += 5
    h.found += h.m.observe(Presence(device="r-own", at=h.at(), room="kitchen", state=PresenceState.STILL,
                                    distance_m=1.0))
    (f,) = _urgent(h.wait(3 * 3600))
    assert (f.type, f.device, f.evidence["why"]) == ("inactivity", "r-own", "radar still_alert_min")
    assert f.at.t - h.t + 3 * 3600 <= 45 * 60 + 10


def test_what_a_radar_learned_survives_a_restart():
    h = Home()
    _learned_bathroom_visits(h, 3, 5.0)
    state = h.m.snapshot()
    assert state is not None and len(state["still_gaps"]["silences"]) >= 30
    again = HomeMonitor(HomeSettings())
    again.restore(state)
    assert again.snapshot() == state
    (seen,) = [r for r in again.learning(11)["contexts"] if r["context"] == "radar-bathroom:here/bathroom"]
    assert seen["learned"] is True and seen["limit_min"] == 25.0  # shown on the page and in health


def _home(tmp_path: Path, kind: str) -> tuple[Path, list[Event]]:
    evs, acts = generate(12, 6, injections=(Injection("bathroom_fall", 10),), kind=kind)
    folder = tmp_path / kind
    write_format_b(folder, evs, acts, kind=kind)
    return folder, [Event(e.local, e.sensor, e.room, e.kind, e.state) for e in evs]


def test_a_synthetic_bathroom_fall_with_radars_is_found_by_the_radar_no_later_than_without(tmp_path):
    delays = {}
    for kind in ("radar", "motion"):
        folder, events = _home(tmp_path, kind)
        last = events[-1].local
        found = [f for f in raised(run_detectors(detectors_for(folder, events, Config()),
                                                 timeline(events, last + 6 * 3600)))
                 if f.at.local > last and f.type in URGENT]
        assert found and found[0].type == "room_dwell" and found[0].room == "bathroom"
        delays[kind] = found[0].at.local - max(e.local for e in events if e.kind != "presence")
        if kind == "radar":
            assert found[0].evidence["source"] == "radar" and found[0].device == "radar_bathroom"
    assert delays["radar"] <= delays["motion"] <= 3600


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(PresenceState)), st.sampled_from(["bathroom", "living", "entrance"]),
                          st.one_of(st.none(), st.floats(0.1, 6.0)), st.floats(0.0, 900.0)), max_size=40))
def test_no_radar_report_stream_crashes_or_raises_sooner_than_the_stillness_floor(reports):
    """Whatever the radars say (ghosts, flicker, lost targets, blips), silence is still counted from the
    last sign of life and nothing is raised before the stillness floor; the daytime bound still holds."""
    h = Home()
    h.motion("entrance")
    for state, room, distance, gap in reports:
        last_life = h.m._last.t
        for f in _urgent(h.wait(gap)):
            assert f.at.t - last_life >= 25 * 60 - 30
        h.radar(state, room=room, distance=distance)
    last_life = h.m._last.t
    found = _urgent(h.wait(5 * 3600))
    assert h.m._raised is not None, "a silent home is raised within the daytime bound whatever the radars said"
    assert all(f.at.t - last_life >= 25 * 60 - 30 for f in found)
    assert all(f.at.t - last_life <= 4 * 3600 + 30 for f in found)


def test_a_home_with_radars_is_the_same_person_and_a_fall_leaves_her_radar_saying_someone():
    with_radars, _ = generate(10, 4, kind="radar")
    without, _ = generate(10, 4, kind="motion")
    assert [e for e in with_radars if e.kind != "presence"] == without
    assert {e.sensor for e in with_radars if e.kind == "presence"} == {"radar_bathroom", "radar_bedroom",
                                                                        "radar_living"}
    contacts, _ = generate(10, 4, kind="contacts", radars=True)
    assert [e for e in contacts if e.kind != "presence"] == generate(10, 4, kind="contacts")[0]
    fell, _ = generate(12, 6, injections=(Injection("bathroom_fall", 10),), kind="radar")
    assert [e for e in fell if e.sensor == "radar_bathroom"][-1].state == 1  # still "someone" after the fall
