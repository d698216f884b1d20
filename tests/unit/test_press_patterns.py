"""Press patterns (detection/press_patterns.py) and the help-call detector, with the pure alert rules behind them.

The properties that matter for a person calling for help: any press sequence gives
exactly one emergency per emergency episode, raised on the press that makes it one
(never by a timer, never after a window); a request never escalates and one service
asked for twice while open is one request.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import ButtonAction, ButtonPress, Finding, PressPattern, Stamp
from detection.help_call import HelpCallDetector
from detection.press_patterns import EMERGENCY, PressMap, PressTiming
from gateway.alerts.effects import Enqueue, FindingReceived, Log, Now, StoreAlert, Tick
from gateway.alerts.rules import AlertRules
from gateway.config.schema import AlertConfig

TIMING = PressTiming(double_press_s=4.0, long_press_s=3.0, frame_gap_s=1.5)
TARGETS = st.sampled_from(["", EMERGENCY, "call_back", "meals"])
MAPS = st.builds(PressMap, single=TARGETS, double=TARGETS, long=TARGETS, second=TARGETS)


def press(t: float, pattern: PressPattern | None = None, repeat: bool = False, device: str = "b") -> ButtonPress:
    return ButtonPress(device=device, at=Stamp(t, t), room="living", pattern=pattern, repeat=repeat)


def test_no_map_every_press_is_an_emergency_at_once_as_before():
    det = HelpCallDetector({}, TIMING)
    (f,) = det.observe(press(1.0))
    assert (f.type, f.key, f.at.t, f.evidence) == ("help_call", "help:b", 1.0, {"button": "b"})
    assert det.observe(press(1.2, repeat=True)) == [], "a repeated frame is the same press"
    assert det.observe(press(1.3, PressPattern.SECOND)) == [], "an unmapped second button says nothing"
    assert len(det.observe(press(2.0))) == 1


def test_single_request_waits_for_its_double_then_is_decided_by_the_poll():
    det = HelpCallDetector({"b": PressMap(single="call_back", double="meals")}, TIMING)
    assert det.observe(press(0.0)) == []
    assert det.poll(Stamp(3.9, 3.9)) == []
    (f,) = det.poll(Stamp(4.0, 4.0))
    assert (f.type, f.key, f.at.t, f.evidence["pattern"]) == ("call_request", "request:call_back", 0.0, "single")
    assert det.poll(Stamp(9.0, 9.0)) == []
    assert det.observe(press(10.0)) == []
    (f,) = det.observe(press(12.0))
    assert (f.key, f.evidence["pattern"], f.at.t) == ("request:meals", "double", 12.0)


def test_a_double_press_that_is_an_emergency_is_raised_on_the_second_press():
    det = HelpCallDetector({"b": PressMap(single="call_back", double="emergency")}, TIMING)
    assert det.observe(press(0.0)) == []
    (f,) = det.observe(press(2.0))
    assert (f.type, f.at.t, f.evidence["pattern"]) == ("help_call", 2.0, "double")
    (again,) = det.observe(press(3.0))  # still calling: the same emergency, counted by the policy
    assert again.type == "help_call"
    assert det.poll(Stamp(10.0, 10.0)) == [], "the single press that began it is not also a request"


def test_a_held_433_button_is_a_long_press_and_a_single_is_not_decided_while_frames_come():
    det = HelpCallDetector({"b": PressMap(single="call_back", long="emergency")}, TIMING)
    assert det.observe(press(0.0)) == []
    for t in (0.5, 1.0, 1.5, 2.0, 2.5):
        assert det.observe(press(t, repeat=True)) == []
    assert det.poll(Stamp(2.9, 2.9)) == []
    (f,) = det.observe(press(3.0, repeat=True))
    assert (f.type, f.evidence["pattern"]) == ("help_call", "long")
    assert det.observe(press(3.5, repeat=True)) == []


def test_a_device_long_code_after_its_press_resolves_the_press_micro_bit():
    det = HelpCallDetector({"b": PressMap(single="meals", long="call_back")}, TIMING)
    assert det.observe(press(0.0)) == []
    (f,) = det.observe(press(1.5, PressPattern.LONG))
    assert (f.key, f.evidence["pattern"]) == ("request:call_back", "long")
    assert det.poll(Stamp(8.0, 8.0)) == []


def test_patterns_the_device_names_mean_their_target_at_once_zigbee():
    det = HelpCallDetector({"b": PressMap(single="emergency", double="call_back", long="housekeeping",
                                          second="visit")}, TIMING)
    assert [f.key for f in det.observe(press(0.0, PressPattern.DOUBLE))] == ["request:call_back"]
    assert [f.key for f in det.observe(press(1.0, PressPattern.LONG))] == ["request:housekeeping"]
    assert [f.key for f in det.observe(press(2.0, PressPattern.SECOND))] == ["request:visit"]
    assert [f.key for f in det.observe(press(3.0, PressPattern.SINGLE))] == ["help:b"]
    only_requests = HelpCallDetector({"b": PressMap(single="call_back")}, TIMING)
    assert [f.key for f in only_requests.observe(press(0.0, PressPattern.ALARM))] == ["help:b"], \
        "the device's own alarm code is an emergency whatever the map says"


def test_cancel_still_cancels_a_pending_fall():
    det = HelpCallDetector({"b": PressMap(single="call_back")}, TIMING)
    (f,) = det.observe(ButtonPress(device="b", at=Stamp(1, 1), action=ButtonAction.CANCEL))
    assert (f.type, f.state.value) == ("fall", "cancelled")


# --- any press sequence, through the detector and the pure alert rules ------------------------------

STEP = st.one_of(
    st.tuples(st.just("press"), st.sampled_from([0.2, 0.5, 1.0, 1.6, 2.5, 3.5, 4.5, 9.0])),
    st.tuples(st.just("repeat"), st.sampled_from([0.3, 0.5, 1.0])),
    st.tuples(st.just("pattern"), st.sampled_from(list(PressPattern))),
    st.tuples(st.just("wait"), st.sampled_from([0.5, 2.0, 5.0, 61.0])),
)


class Run:
    """The detector and the rules, as the daemon wires them, on an explicit clock."""

    def __init__(self, pmap: PressMap) -> None:
        self.det = HelpCallDetector({"b": pmap}, TIMING)
        self.rules = AlertRules(AlertConfig(ack_timeout_s=60, max_escalation_level=3, help_repeat_window_s=120))
        self.t = 10.0
        self.opened: list[tuple[str, str, float, str]] = []  # (type, id, t, step kind)
        self.escalated: set[str] = set()
        self.enqueued: list[Enqueue] = []

    def now(self) -> Now:
        return Now(t=self.t, wall=1_700_000_000.0 + self.t, boot_id="boot", synced=True)

    def feed(self, fs: list[Finding], kind: str) -> None:
        for f in fs:
            self.effects(self.rules.decide(FindingReceived(f, 1_700_000_000.0 + f.at.t, self.now())), kind)

    def effects(self, effects: list[Any], kind: str) -> None:
        for e in effects:
            if isinstance(e, StoreAlert):
                self.opened.append((e.row.type, e.row.id, self.t, kind))
            elif isinstance(e, Enqueue):
                self.enqueued.append(e)
            elif isinstance(e, Log) and e.event == "alert.escalated":
                self.escalated.add(str(e.fields["id"]))

    def step(self, kind: str, arg: Any) -> None:
        if kind == "press":
            self.t += arg
            self.feed(self.det.observe(press(self.t)), kind)
        elif kind == "repeat":
            self.t += arg
            self.feed(self.det.observe(press(self.t, repeat=True)), kind)
        elif kind == "pattern":
            self.t += 0.3
            self.feed(self.det.observe(press(self.t, arg)), kind)
        else:
            end = self.t + arg
            while self.t < end:  # the daemon's poll and policy tick, twice a second
                self.t = min(end, self.t + 0.5)
                self.feed(self.det.poll(Stamp(self.t, self.t)), "poll")
                self.effects(self.rules.decide(Tick(self.now())), "tick")


@settings(max_examples=300, deadline=None)
@given(pmap=MAPS, steps=st.lists(STEP, max_size=25))
def test_any_press_sequence_one_emergency_never_delayed_requests_never_escalate(pmap: PressMap, steps):
    run = Run(pmap)
    first_press_t: float | None = None
    for kind, arg in steps:
        run.step(kind, arg)
        if kind == "press" and first_press_t is None:
            first_press_t = run.t
    emergencies = [o for o in run.opened if o[0] == "help_call"]
    requests = [o for o in run.opened if o[0] == "call_request"]
    # One emergency per episode: nobody acknowledged, so every emergency press folds into the first.
    assert len(emergencies) <= 1
    # Never delayed: an emergency is raised on the press (or frame) that makes it one, never by a timer.
    assert all(kind in ("press", "repeat", "pattern") for _, _, _, kind in emergencies)
    # A single press that means an emergency raises it on that press.
    if pmap.target(PressPattern.SINGLE) == EMERGENCY and first_press_t is not None:
        assert emergencies and emergencies[0][2] <= first_press_t
    if any(kind == "pattern" and pmap.target(arg) == EMERGENCY for kind, arg in steps):
        assert emergencies
    # Requests: one per service while open, never escalated, never at an escalation level.
    assert len({rid for _, rid, _, _ in requests}) == len(requests)
    services = [e.row.evidence.get("service") for e in run.enqueued if e.row.type == "call_request"]
    assert len(set(services)) == len(services), "one open request per service"
    request_ids = {rid for _, rid, _, _ in requests}
    assert not request_ids & run.escalated
    assert all(e.level == 0 for e in run.enqueued if e.row.id in request_ids)
    assert all(e.row.severity == "info" for e in run.enqueued if e.row.id in request_ids)
    # A button whose every pattern is an emergency never asks for anything.
    if all(pmap.target(p) in (EMERGENCY, None) for p in PressPattern):
        assert not requests
