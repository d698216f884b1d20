"""A detected fall through the real pipeline, policy and store: cancel window, button, recovery (urgent)."""

from __future__ import annotations

import json

import numpy as np

from detection.events import AccelBatch, ButtonAction, ButtonPress, Stamp
from detection.fall import FallDetector, FallParams, FallWearable
from detection.help_call import HelpCallDetector
from gateway.alerts import AlertPolicy
from gateway.config.schema import AlertConfig
from gateway.pipeline import Pipeline
from gateway.store import Store
from gateway.topics import Topics
from tests.unit.test_fall_detector import FS, fall_signal, walking


class Clock:
    boot_id = "b"
    synced = True

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> Stamp:
        return Stamp(self.t, self.t)

    def utc_of(self, s: Stamp) -> float:
        return 1.7e9 + s.t


def rig(tmp_path):
    store, clock = Store(tmp_path / "s.db"), Clock()
    policy = AlertPolicy(store, AlertConfig(), "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                         wake_uplink=lambda: None)
    fall = FallDetector({"pendant": FallWearable("waist", cancel_window_s=30.0)}, FallParams.load())
    pipe = Pipeline([HelpCallDetector(), fall], policy.on_finding, clock, store)  # type: ignore[arg-type]
    return store, clock, policy, pipe


def stream(pipe: Pipeline, clock: Clock, samples: np.ndarray, start: float) -> float:
    for k in range(0, len(samples), 10):
        chunk = samples[k:k + 10]
        clock.t = start + (k + len(chunk) - 1) / FS
        pipe.submit(AccelBatch(device="pendant", at=clock.now(), fs=FS, samples=chunk))
    return clock.t + 1 / FS


def messages(store: Store) -> list[dict]:
    return [json.loads(r.payload) for r in store.outbox()]


def test_fall_becomes_an_emergency_after_its_cancel_window(tmp_path):
    store, clock, policy, pipe = rig(tmp_path)
    stream(pipe, clock, fall_signal(np.random.default_rng(1)), 0.0)
    assert store.alerts()[0].state == "pending" and messages(store) == []
    clock.t += 31
    policy.tick()
    (msg,) = messages(store)
    assert (msg["type"], msg["severity"], msg["state"]) == ("fall", "emergency", "open")
    assert msg["evidence"]["peak_g"] > 3 and "posture_change_deg" in msg["evidence"]


def test_wearable_button_cancels_and_the_platform_hears_it_at_low_priority(tmp_path):
    store, clock, policy, pipe = rig(tmp_path)
    stream(pipe, clock, fall_signal(np.random.default_rng(1)), 0.0)
    clock.t += 5
    pipe.submit(ButtonPress(device="pendant", at=clock.now(), action=ButtonAction.HELP))
    (msg,) = messages(store)
    assert (msg["type"], msg["state"], msg["severity"]) == ("fall", "cancelled", "info")
    clock.t += 60
    policy.tick()
    assert len(messages(store)) == 1


def test_a_fall_the_wearer_gets_up_from_is_raised_as_urgent(tmp_path):
    store, clock, policy, pipe = rig(tmp_path)
    rng = np.random.default_rng(1)
    end = stream(pipe, clock, fall_signal(rng), 0.0)
    stream(pipe, clock, walking(8, rng), end)
    policy.tick()
    assert messages(store) == [], "the cancel window still runs: the button may yet cancel"
    clock.t += 31
    policy.tick()
    (msg,) = messages(store)
    assert (msg["type"], msg["state"], msg["severity"]) == ("fall", "open", "urgent")
    assert msg["evidence"]["recovered"] is True and msg["evidence"]["peak_g"] > 3
    assert msg["evidence"]["recovery"]["angle_to_upright_deg"] <= 35
