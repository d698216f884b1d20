"""A wearable's emergency says where she was last sensed; nothing else is moved."""

from __future__ import annotations

from detection.events import (
    ButtonPress,
    Contact,
    Finding,
    FindingState,
    Motion,
    Presence,
    PresenceState,
    Severity,
    Stamp,
)
from detection.help_call import HelpCallDetector
from detection.whereabouts import MAX_AGE_S, Whereabouts
from gateway.pipeline import Pipeline


def fall(t: float, **kw: object) -> Finding:
    base: dict[str, object] = {"type": "fall", "severity": Severity.EMERGENCY, "at": Stamp(t, t),
                               "key": "fall:pendant", "device": "pendant", "evidence": {"peak_g": 3.1}}
    return Finding(**(base | kw))  # type: ignore[arg-type]


def test_a_pendant_fall_takes_the_room_of_the_last_motion_with_where_it_came_from():
    w = Whereabouts()
    w.seen(Motion(device="pir-kitchen", at=Stamp(100, 100), room="kitchen"))
    w.seen(Motion(device="pir-bath", at=Stamp(200, 200), room="bathroom"))
    w.seen(Motion(device="pir-bath", at=Stamp(230, 230), room="bathroom", active=False))  # quiet is no sign
    located = w.locate(fall(260))
    assert located.room == "bathroom"
    assert located.evidence == {"peak_g": 3.1, "room_inferred": {"from": "pir-bath", "seconds_before": 60}}


def test_doors_beds_and_a_radar_that_sees_someone_count_an_empty_radar_does_not():
    w = Whereabouts()
    w.seen(Contact(device="bed", at=Stamp(10, 10), room="bedroom", kind="bed"))
    assert w.locate(fall(20)).room == "bedroom"
    w.seen(Presence(device="radar", at=Stamp(30, 30), room="bathroom", state=PresenceState.NONE))
    assert w.locate(fall(40)).room == "bedroom"
    w.seen(Presence(device="radar", at=Stamp(50, 50), room="bathroom", state=PresenceState.STILL))
    assert w.locate(fall(60)).room == "bathroom"


def test_an_old_sign_own_rooms_clearances_and_notices_are_left_alone():
    w = Whereabouts()
    w.seen(Motion(device="pir", at=Stamp(0, 0), room="hall"))
    assert w.locate(fall(MAX_AGE_S + 1)).room is None  # half an hour of silence: a guess
    assert w.locate(fall(10, room="bedroom")).room == "bedroom"  # a bed button knows its room
    assert w.locate(fall(10, state=FindingState.CANCELLED)).room is None
    assert w.locate(fall(10, severity=Severity.WELLBEING)).room is None
    assert w.locate(fall(10, device=None)).room is None  # the home monitor's findings say their own room
    assert Whereabouts().locate(fall(10)).room is None


class Clock:
    def now(self) -> Stamp:
        return Stamp(1.0, 1.0)

    def utc_of(self, stamp: Stamp) -> float:
        return 1_700_000_000 + stamp.t


def test_the_pipeline_hands_the_policy_the_located_finding():
    found: list[Finding] = []
    p = Pipeline([HelpCallDetector()], found.append, Clock())  # type: ignore[list-item]
    p.submit(Motion(device="pir-living", at=Stamp(5, 5), room="living"))
    p.submit(ButtonPress(device="watch", at=Stamp(65, 65)))
    assert [(f.type, f.room) for f in found] == [("help_call", "living")]
    assert found[0].evidence["room_inferred"] == {"from": "pir-living", "seconds_before": 60}
