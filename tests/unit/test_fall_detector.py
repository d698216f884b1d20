"""The fall detector on synthetic signals: physics, orientation, batching, recovery."""

from __future__ import annotations

import numpy as np
import pytest

from detection.events import AccelBatch, FindingState, Stamp
from detection.fall import FallDetector, FallParams, FallWearable
from detection.fall.trials import raised_falls, replay

FS = 50.0


def standing(seconds: float, rng: np.random.Generator, up=(0.0, 0.0, 1.0), noise=0.02) -> np.ndarray:
    n = int(seconds * FS)
    return np.array(up) + rng.normal(0, noise, (n, 3))


def walking(seconds: float, rng: np.random.Generator, up=(0.0, 0.0, 1.0), amp=0.3) -> np.ndarray:
    n = int(seconds * FS)
    t = np.arange(n) / FS
    bounce = amp * np.sin(2 * np.pi * 1.8 * t)
    return np.array(up) * (1 + bounce)[:, None] + rng.normal(0, 0.05, (n, 3))


def fall_signal(rng: np.random.Generator) -> np.ndarray:
    """Walking, a 0.4 s free fall, a 6 g impact, then lying on the side, still."""
    pre = walking(5, rng)
    freefall = rng.normal(0, 0.05, (int(0.4 * FS), 3)) + np.array([0.0, 0.0, 0.15])
    impact = np.array([[1.5, 0.5, 6.0], [2.5, 1.0, 3.0], [0.5, 0.2, 1.5]])
    lying = standing(8, rng, up=(1.0, 0.0, 0.0), noise=0.01)
    return np.concatenate([pre, freefall, impact, lying])


def jogging(seconds: float, rng: np.random.Generator) -> np.ndarray:
    n = int(seconds * FS)
    t = np.arange(n) / FS
    stride = np.maximum(0, np.sin(2 * np.pi * 2.8 * t)) ** 4 * 3.0
    return np.array([0.0, 0.0, 1.0]) * (0.3 + stride)[:, None] + rng.normal(0, 0.1, (n, 3))


def sit_down_hard(rng: np.random.Generator) -> np.ndarray:
    """Standing, a quick drop onto a chair (3 g), sitting upright and still."""
    return np.concatenate([standing(4, rng), np.array([[0, 0, 0.3], [0.1, 0, 3.0], [0, 0.1, 1.6]]),
                           standing(8, rng, up=(0.15, 0.0, 0.99))])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def run(signal: np.ndarray, batch: int = 10, placement: str = "waist") -> list:
    det = FallDetector({"w": FallWearable(placement)}, FallParams.load())
    return replay(det, "w", signal, FS, batch)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(3)


def test_free_fall_impact_then_lying_is_a_fall(rng):
    findings = raised_falls(run(fall_signal(rng)))
    assert len(findings) == 1
    f = findings[0]
    ev = f.evidence
    assert ev["peak_g"] > 5 and ev["posture_change_deg"] > 60 and ev["stillness_std_g"] < 0.1
    assert 5.3 < ev["impact_t"] < 5.6
    assert 0 < ev["decision_latency_s"] <= 3.0
    assert f.cancel_window_s == 30.0 and f.key == "fall:w"


@pytest.mark.parametrize("make", [lambda r: walking(20, r), lambda r: jogging(20, r), sit_down_hard])
def test_vigorous_everyday_motion_is_not_a_fall(rng, make):
    assert raised_falls(run(make(rng))) == []


def test_any_rotation_of_the_sensor_gives_the_same_answer(rng):
    sig = fall_signal(rng)
    base = raised_falls(run(sig))
    for _ in range(5):
        rot = random_rotation(rng)
        again = raised_falls(run(sig @ rot.T))
        assert len(again) == len(base) == 1
        assert again[0].evidence["score"] == pytest.approx(base[0].evidence["score"], abs=1e-6)
        assert again[0].at.t == pytest.approx(base[0].at.t)


def test_batch_size_does_not_change_the_answer(rng):
    sig = np.concatenate([jogging(6, rng), fall_signal(rng)])
    answers = []
    for batch in (1, 7, 10, 33):
        found = raised_falls(run(sig, batch))
        answers.append([(round(f.at.t, 6), round(f.evidence["impact_t"], 6), f.evidence["score"]) for f in found])
    assert answers[0] and all(a == answers[0] for a in answers)


def test_getting_up_and_walking_cancels(rng):
    sig = np.concatenate([fall_signal(rng), walking(8, rng)])
    findings = run(sig)
    states = [f.state for f in findings]
    assert states == [FindingState.RAISED, FindingState.CANCELLED]
    assert findings[1].evidence["reason"] == "recovery"
    assert raised_falls(findings) == []


def test_other_sample_rates(rng):
    # Resample the 50 Hz fall to 25 and 100 Hz: the answer holds.
    sig = fall_signal(rng)
    for fs in (25.0, 100.0):
        t_old = np.arange(len(sig)) / FS
        t_new = np.arange(0, t_old[-1], 1 / fs)
        res = np.stack([np.interp(t_new, t_old, sig[:, k]) for k in range(3)], axis=1)
        det = FallDetector({"w": FallWearable()}, FallParams.load())
        assert len(raised_falls(replay(det, "w", res, fs))) == 1, fs


def test_bad_batches_are_counted_not_fatal(rng):
    det = FallDetector({"w": FallWearable()}, FallParams.load())
    assert det.observe(AccelBatch(device="w", at=Stamp(1, 1), fs=50, samples=np.full((5, 3), np.nan))) == []
    assert det.observe(AccelBatch(device="w", at=Stamp(2, 2), fs=50, samples=np.zeros((5, 2)))) == []
    assert det.observe(AccelBatch(device="other", at=Stamp(3, 3), fs=50, samples=np.zeros((5, 3)))) == []
    assert det.rejected_batches == 2


def test_a_gap_restarts_the_stream(rng):
    det = FallDetector({"w": FallWearable()}, FallParams.load())
    det.observe(AccelBatch(device="w", at=Stamp(1.0, 1.0), fs=50, samples=np.tile([0.0, 0.0, 1.0], (10, 1)), seq=1))
    det.observe(AccelBatch(device="w", at=Stamp(1.2, 1.2), fs=50, samples=np.tile([0.0, 0.0, 1.0], (10, 1)), seq=5))
    assert det.gaps == 1


def test_shipped_parameters_are_small_and_numpy_only():
    from detection.fall.model import SHIPPED

    assert SHIPPED.stat().st_size < 1_000_000
    p = FallParams.load()
    assert all(0 < t < 1 for t in p.thresholds.values()) and set(p.thresholds) >= {"waist", "neck", "wrist"}
    assert p.leaves.shape == (len(p.node_f), 4) and p.node_t.shape == p.node_f.shape
