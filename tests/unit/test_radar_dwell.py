"""A radar's "present and still" in a dwell room becomes room_dwell, sooner than silence, and clears on movement."""

from __future__ import annotations

from detection.events import FindingState, Presence, PresenceState, Stamp, Tick
from detection.radar_dwell import RadarDwellDetector
from gateway.config import Config
from gateway.config.schema import RadarConfig
from gateway.detectors import build_detectors

T0 = Stamp(1000.0, 1_700_000_000.0)
LIMIT = 20 * 60.0


def presence(state: PresenceState, after: float, distance: float | None = 1.1) -> Presence:
    return Presence(device="radar-bath", at=T0.after(after), room="bathroom", state=state, distance_m=distance)


def ticks(det: RadarDwellDetector, start: float, end: float, step: float = 30.0) -> list:  # type: ignore[type-arg]
    out = []
    t = start
    while t <= end:
        out += det.observe(Tick(at=T0.after(t)))
        t += step
    return out


def walk_in(det: RadarDwellDetector) -> None:
    det.observe(presence(PresenceState.MOVING, -20))


def test_still_for_the_limit_raises_once_with_the_radar_as_evidence():
    det = RadarDwellDetector({"radar-bath": LIMIT})
    walk_in(det)
    assert det.observe(presence(PresenceState.STILL, 0)) == []
    assert ticks(det, 30, LIMIT - 30) == []
    (f,) = ticks(det, LIMIT, LIMIT + 600)
    assert (f.type, f.severity.value, f.key, f.room) == ("room_dwell", "urgent", "room_dwell:radar-bath", "bathroom")
    assert f.evidence["source"] == "radar" and f.evidence["still_min"] == 20.0 and f.evidence["distance_m"] == 1.1


def test_a_moving_blip_neither_resets_nor_clears_but_lasting_movement_clears():
    det = RadarDwellDetector({"radar-bath": LIMIT})
    walk_in(det)
    det.observe(presence(PresenceState.STILL, 0))
    det.observe(presence(PresenceState.MOVING, 600))  # a breath, a curtain: 5 s of "moving"
    det.observe(presence(PresenceState.STILL, 605))
    (raised,) = ticks(det, 630, LIMIT + 30)
    assert raised.state is FindingState.RAISED
    det.observe(presence(PresenceState.MOVING, LIMIT + 60))
    assert ticks(det, LIMIT + 70, LIMIT + 80) == []  # not settled yet
    (cleared,) = ticks(det, LIMIT + 90, LIMIT + 200)
    assert cleared.state is FindingState.CLEARED and cleared.key == "room_dwell:radar-bath"


def test_a_still_target_in_a_room_nobody_walked_into_never_raises():
    det = RadarDwellDetector({"radar-bath": LIMIT})
    det.observe(presence(PresenceState.STILL, 0))  # a radiator, from the start
    assert ticks(det, 30, 3 * LIMIT, step=60) == []
    det.observe(presence(PresenceState.MOVING, 3 * LIMIT + 10))  # ...until someone comes in and stops
    det.observe(presence(PresenceState.STILL, 3 * LIMIT + 20))
    assert len(ticks(det, 3 * LIMIT + 30, 4 * LIMIT + 60, step=60)) == 1
    # They leave: empty for a while, then the ghost "still" again: no new alert.
    det.observe(presence(PresenceState.NONE, 5 * LIMIT, None))
    assert [f.state for f in ticks(det, 5 * LIMIT + 10, 5 * LIMIT + 60)] == [FindingState.CLEARED]
    det.observe(presence(PresenceState.STILL, 5 * LIMIT + 100))
    assert ticks(det, 5 * LIMIT + 130, 7 * LIMIT, step=60) == []


def test_an_empty_room_or_unknown_movement_never_raises():
    det = RadarDwellDetector({"radar-bath": LIMIT})
    det.observe(presence(PresenceState.NONE, 0, None))
    det.observe(presence(PresenceState.PRESENT, 10, None))  # an MR60FDA2: present, movement unknown
    assert ticks(det, 30, 3 * LIMIT, step=60) == []


def test_the_daemon_watches_radars_in_dwell_rooms_at_the_dwell_floor():
    cfg = Config(radars=[RadarConfig(id="r-bath", model="ld2410", port="/dev/null", room="bathroom"),
                         RadarConfig(id="r-bed", model="ld2410", port="/dev/null", room="bedroom"),
                         RadarConfig(id="r-own", model="ld2410", port="/dev/null", room="kitchen",
                                     still_alert_min=45.0)])
    (det,) = [d for d in build_detectors(cfg) if isinstance(d, RadarDwellDetector)]
    assert {r: w.limit_s for r, w in det._watch.items()} == {
        "r-bath": cfg.detection.home.dwell_floor_min * 60, "r-own": 45 * 60.0}
