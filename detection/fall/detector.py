"""Streaming fall detection, one stream per wearable. Pure: batches in, findings out.

Per wearable: samples are placed on an even timeline at the internal rate
(``stream.py``: late or early batches change nothing, only a real gap
restarts); every sample's capped |a| is checked against the impact trigger; a
trigger opens a candidate whose peak is the highest |a| in the next second;
``POST_S`` seconds after the peak the features are computed and scored, and a
fall finding is returned if the score clears the wearable's placement's
threshold. Decisions are tied to sample indices, never to batch boundaries or
arrival times, so the answer depends on the samples alone. After a fall, the
stream watches for a clear recovery (back to the pre-fall orientation and
walking) during the cancel window: the alert policy then raises the fall as
urgent rather than as an emergency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from detection.events import AccelBatch, Finding, FindingState, Observation, Severity
from detection.fall.features import CAP_G, FEATURE_NAMES, POST_S, PRE_S, compute_features, gravity
from detection.fall.model import FallParams
from detection.fall.stream import FS, SampleStream

PEAK_SEARCH_S = 1.0
KEEP_S = PRE_S + POST_S + PEAK_SEARCH_S + 1.0
REFRACTORY_AFTER_FALL_S = 10.0  # the tumble after a fall is part of it, not a second fall
RECOVERY_WINDOW_S = 3.0
RECOVERY_MAX_ANGLE_DEG = 35.0
RECOVERY_MIN_ACTIVITY_G = 0.12
RECOVERY_NOT_BEFORE_S = 2.0  # after the decision: the fall's own tumble is not a recovery


@dataclass(frozen=True)
class FallWearable:
    placement: str = "waist"
    cancel_window_s: float = 30.0


@dataclass(frozen=True)
class Candidate:
    """One scored impact, for training and evaluation."""

    device: str
    impact_t: float
    features: np.ndarray
    score: float


class _Wearer:
    def __init__(self) -> None:
        self.stream = SampleStream()
        self.acc = np.zeros((0, 3))
        self.mag = np.zeros(0)  # capped |a|
        self.base = 0  # internal index of acc[0]
        self.scan = 0
        self.trigger: int | None = None
        self.peak: int | None = None
        self.decide_at: int | None = None
        self.refractory_until = 0
        # Recovery watch after a fall: gravity before the fall, watch from / until (internal indices)
        self.watch: tuple[np.ndarray, int, int] | None = None
        self.watch_next = 0  # the next window end the recovery watch has to judge

    @property
    def n(self) -> int:
        return self.base + len(self.mag)


class FallDetector:
    name = "fall"

    def __init__(self, wearables: dict[str, FallWearable], params: FallParams | None = None) -> None:
        self.wearables = dict(wearables)
        self.params = params or FallParams.load()
        self._wearers: dict[str, _Wearer] = {}
        self.rejected_batches = 0
        self.gaps = 0
        # Every candidate's features and score, for training and evaluation; off in the daemon.
        self.record_candidates = False
        self.candidates: list[Candidate] = []

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, AccelBatch) or obs.device not in self.wearables:
            return []
        samples = obs.samples
        if (samples.ndim != 2 or samples.shape[1] != 3 or samples.shape[0] == 0 or not 1.0 <= obs.fs <= 1000.0
                or not np.isfinite(samples).all()):
            self.rejected_batches += 1
            return []
        w = self._wearers.get(obs.device)
        if w is None:
            w = self._wearers[obs.device] = _Wearer()
        arrival = w.stream.arrive(obs)
        if arrival.restarted:
            if arrival.reason:
                self.gaps += 1  # samples are missing: windows would mix unrelated motion
            stream, w = w.stream, _Wearer()
            w.stream = stream
            self._wearers[obs.device] = w
        acc = w.stream.resample(samples.astype(float, copy=False))
        if len(acc):
            w.acc = np.concatenate([w.acc, acc])
            w.mag = np.concatenate([w.mag, np.minimum(np.sqrt((acc * acc).sum(axis=1)), CAP_G)])
        out = self._scan(obs.device, w)
        out += self._watch_recovery(obs.device, w)
        self._trim(w)
        return out

    # --- streaming --------------------------------------------------------------

    def _scan(self, device: str, s: _Wearer) -> list[Finding]:
        out: list[Finding] = []
        p = self.params
        while True:
            if s.trigger is None:
                start = max(s.scan, s.refractory_until, s.base)
                if start >= s.n:
                    s.scan = s.n
                    return out
                above = np.nonzero(s.mag[start - s.base:] > p.trigger_g)[0]
                if above.size == 0:
                    s.scan = s.n
                    return out
                s.trigger = start + int(above[0])
            if s.peak is None:
                end = s.trigger + round(PEAK_SEARCH_S * FS)
                if s.n <= end:
                    return out
                window = s.mag[s.trigger - s.base:end - s.base + 1]
                s.peak = s.trigger + int(np.argmax(window))
                s.decide_at = s.peak + round(POST_S * FS)
            assert s.decide_at is not None
            if s.n <= s.decide_at:
                return out
            finding = self._decide(device, s)
            if finding is not None:
                out.append(finding)
                s.refractory_until = s.decide_at + round(REFRACTORY_AFTER_FALL_S * FS)
            s.scan = s.trigger + round(PEAK_SEARCH_S * FS) + 1
            s.trigger = s.peak = s.decide_at = None

    def _decide(self, device: str, s: _Wearer) -> Finding | None:
        assert s.peak is not None and s.decide_at is not None
        hi = s.decide_at - s.base + 1
        peak = s.peak - s.base
        feats = compute_features(s.acc[:hi], s.mag[:hi], peak)
        w = self.wearables[device]
        score = self.params.score(feats, w.placement)
        impact = s.stream.stamp(s.peak)
        if self.record_candidates:
            self.candidates.append(Candidate(device, impact.t, feats, score))
        if score < self.params.threshold_for(w.placement):
            return None
        decided = s.stream.stamp(s.decide_at)
        pre = slice(max(0, peak - round(PRE_S * FS)), max(0, peak - round(1.0 * FS)))
        upright = gravity(s.acc[pre], s.mag[pre])
        if upright is not None:
            s.watch = (upright, s.decide_at + round(RECOVERY_NOT_BEFORE_S * FS),
                       s.decide_at + round(w.cancel_window_s * FS))
        named = dict(zip(FEATURE_NAMES, (round(float(v), 3) for v in feats), strict=True))
        return Finding(
            type="fall",
            severity=Severity.EMERGENCY,
            at=decided,
            key=f"fall:{device}",
            device=device,
            cancel_window_s=w.cancel_window_s,
            evidence={
                "impact_t": impact.t,
                "decision_latency_s": round(decided.t - impact.t, 2),
                "score": round(score, 3),
                "peak_g": round(float(np.linalg.norm(s.acc[peak])), 3),  # as measured, not capped
                "posture_change_deg": named["posture_change_deg"],
                "stillness_std_g": named["post_std_g"],
                "freefall_min_g": named["freefall_min_g"],
                "placement": w.placement,
                "features": named,
            },
        )

    def _watch_recovery(self, device: str, s: _Wearer) -> list[Finding]:
        """A clear recovery: 3 s back within 35 degrees of the pre-fall posture, moving like walking."""
        if s.watch is None:
            return []
        upright, start, until = s.watch
        k = round(RECOVERY_WINDOW_S * FS)
        # Every complete 3 s window ending in [start, until] is judged once, in sample
        # order, so the answer does not depend on how the samples were batched.
        e0 = max(start, s.watch_next, s.base + k)
        e1 = min(s.n, until)
        if e1 >= e0:
            lo = e0 - k - s.base
            acc, mag = s.acc[lo:e1 - s.base], s.mag[lo:e1 - s.base]
            ca = np.cumsum(np.concatenate([np.zeros((1, 3)), acc]), axis=0)
            cm = np.cumsum(np.concatenate([[0.0], mag]))
            cm2 = np.cumsum(np.concatenate([[0.0], mag * mag]))
            mean = (ca[k:] - ca[:-k]) / k
            m1 = (cm[k:] - cm[:-k]) / k
            activity = np.sqrt(np.maximum((cm2[k:] - cm2[:-k]) / k - m1 * m1, 0.0))
            cos = mean @ upright / (np.linalg.norm(mean, axis=1) * np.linalg.norm(upright) + 1e-9)
            angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
            ok = np.nonzero((angle <= RECOVERY_MAX_ANGLE_DEG) & (activity >= RECOVERY_MIN_ACTIVITY_G))[0]
            s.watch_next = e1 + 1
            if ok.size:
                j = int(ok[0])
                s.watch = None
                return [Finding(type="fall", severity=Severity.EMERGENCY, at=s.stream.stamp(e0 + j - 1),
                                key=f"fall:{device}", state=FindingState.CANCELLED, device=device,
                                evidence={"reason": "recovery", "angle_to_upright_deg": round(float(angle[j]), 1),
                                          "activity_std_g": round(float(activity[j]), 3)})]
        if s.n >= until:
            s.watch = None
        return []

    def _trim(self, s: _Wearer) -> None:
        keep_from = s.n - round(KEEP_S * FS)
        if s.trigger is not None:
            keep_from = min(keep_from, s.trigger - round(PRE_S * FS))
        drop = keep_from - s.base
        if drop > round(2 * FS):  # trim in chunks, not every batch
            s.acc = s.acc[drop:]
            s.mag = s.mag[drop:]
            s.base += drop

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass
