"""A radar's fall through the real pipeline, policy and store: the wearable fall's cancel window and escalation."""

from __future__ import annotations

import json

from detection.events import Fall, Presence, PresenceState
from detection.radar_fall import RadarFallDetector
from gateway.alerts import AlertPolicy
from gateway.config import Config
from gateway.config.schema import AlertConfig, RadarConfig
from gateway.detectors import build_detectors
from gateway.pipeline import Pipeline
from gateway.store import Store
from gateway.topics import Topics
from tests.unit.test_fall_alert_path import Clock


def rig(tmp_path, window: float = 30.0):
    store, clock = Store(tmp_path / "s.db"), Clock()
    policy = AlertPolicy(store, AlertConfig(ack_timeout_s=60), "site", Topics.for_site("carehub/v1", "site"),
                         clock, wake_uplink=lambda: None)  # type: ignore[arg-type]
    pipe = Pipeline([RadarFallDetector({"radar-bath": window})], policy.on_finding, clock, store)  # type: ignore[arg-type]
    return store, clock, policy, pipe


def messages(store: Store) -> list[dict]:
    return [json.loads(r.payload) for r in store.outbox()]


def fall(clock: Clock, fallen: bool = True) -> Fall:
    return Fall(device="radar-bath", at=clock.now(), room="bathroom", fallen=fallen)


def test_radar_fall_is_held_for_the_cancel_window_then_raised_and_escalated(tmp_path):
    store, clock, policy, pipe = rig(tmp_path)
    pipe.submit(fall(clock))
    assert store.alerts()[0].state == "pending" and messages(store) == []
    clock.t += 31
    policy.tick()
    (msg,) = messages(store)
    assert (msg["type"], msg["severity"], msg["state"], msg["device"]) == ("fall", "emergency", "open",
                                                                           "radar-bath")
    assert msg["room"] == "bathroom" and msg["evidence"]["source"] == "radar"
    clock.t += 61  # no acknowledgement: the next level, as for a wearable fall
    policy.tick()
    assert [m["level"] for m in messages(store)] == [0, 1]


def test_repeated_reports_of_one_fall_are_one_alert_and_no_fall_does_not_cancel_it(tmp_path):
    store, clock, policy, pipe = rig(tmp_path)
    for _ in range(5):
        pipe.submit(fall(clock))
        clock.t += 1
    pipe.submit(fall(clock, fallen=False))
    clock.t += 30
    policy.tick()
    assert len(store.alerts()) == 1
    (msg,) = messages(store)
    assert msg["severity"] == "emergency" and msg["state"] == "open"


def test_presence_alone_raises_nothing(tmp_path):
    store, clock, _, pipe = rig(tmp_path)
    pipe.submit(Presence(device="radar-bath", at=clock.now(), room="bathroom", state=PresenceState.STILL,
                         distance_m=1.2))
    assert store.alerts() == []


def test_daemon_detectors_supervise_radars_and_use_the_fall_cancel_window():
    cfg = Config(radars=[RadarConfig(id="r1", model="mr60fda2", port="/dev/null", room="bathroom"),
                         RadarConfig(id="r2", model="ld2410", port="/dev/null", cancel_window_s=5.0)])
    dets = {d.name: d for d in build_detectors(cfg)}
    radar = dets["radar_fall"]
    assert isinstance(radar, RadarFallDetector)
    assert radar.radars == {"r1": cfg.detection.fall.cancel_window_s, "r2": 5.0}
    assert "r1" in dets["supervision"]._watch  # type: ignore[attr-defined]
