"""Streaming fall detection, one stream per wearable. Pure: batches in, findings out.

Per wearable: every sample's |a| is checked against the impact trigger; a
trigger opens a candidate whose peak is the highest |a| in the next second;
``POST_S`` seconds after the peak the features are computed and scored, and a
fall finding is returned if the score clears the placement's threshold. The
decision is tied to sample indices, never to batch boundaries, and its time is
that of the deciding sample, so the answer does not depend on how the wearable
batches its samples. After a fall, the stream watches for a clear recovery
(back to the pre-fall orientation and walking) during the cancel window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from detection.events import AccelBatch, Finding, FindingState, Observation, Severity, Stamp
from detection.fall.features import FEATURE_NAMES, POST_S, PRE_S, compute_features
from detection.fall.model import FallParams

PEAK_SEARCH_S = 1.0
KEEP_S = PRE_S + POST_S + PEAK_SEARCH_S + 1.0
REFRACTORY_AFTER_FALL_S = 10.0  # the tumble after a fall is part of it, not a second fall
RECOVERY_WINDOW_S = 3.0
RECOVERY_MAX_ANGLE_DEG = 35.0
RECOVERY_MIN_ACTIVITY_G = 0.12
MAX_GAP_S = 0.5


@dataclass(frozen=True)
class FallWearable:
    placement: str = "waist"
    cancel_window_s: float = 30.0


class _Stream:
    def __init__(self, fs: float) -> None:
        self.fs = fs
        self.acc = np.zeros((0, 3))
        self.mag = np.zeros(0)
        self.base = 0  # absolute index of acc[0]
        self.n = 0  # samples seen
        self.last: Stamp | None = None
        self.last_seq: int | None = None
        self.scan = 0
        self.trigger: int | None = None
        self.peak: int | None = None
        self.decide_at: int | None = None
        self.refractory_until = 0
        # Recovery watch after a fall: (upright direction, watch ends at t, key)
        self.watch: tuple[np.ndarray, float] | None = None

    def stamp_of(self, index: int) -> Stamp:
        assert self.last is not None
        back = (self.n - 1 - index) / self.fs
        return Stamp(self.last.t - back, self.last.local - back, self.last.synced)


class FallDetector:
    name = "fall"

    def __init__(self, wearables: dict[str, FallWearable], params: FallParams | None = None) -> None:
        self.wearables = dict(wearables)
        self.params = params or FallParams.load()
        self._streams: dict[str, _Stream] = {}
        self.rejected_batches = 0
        self.gaps = 0
        # Every candidate's features and score, for training and evaluation; off in the daemon.
        self.record_candidates = False
        self.candidates: list[tuple[str, float, np.ndarray, float]] = []

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, AccelBatch) or obs.device not in self.wearables:
            return []
        samples = obs.samples
        if (samples.ndim != 2 or samples.shape[1] != 3 or samples.shape[0] == 0 or not obs.fs > 0
                or not np.isfinite(samples).all()):
            self.rejected_batches += 1
            return []
        stream = self._stream_for(obs)
        acc = samples.astype(float, copy=False)
        stream.acc = np.concatenate([stream.acc, acc])
        stream.mag = np.concatenate([stream.mag, np.sqrt((acc * acc).sum(axis=1))])
        stream.n += len(acc)
        stream.last = obs.at
        stream.last_seq = obs.seq
        out = self._scan(obs.device, stream)
        out += self._watch_recovery(obs.device, stream)
        self._trim(stream)
        return out

    # --- streaming --------------------------------------------------------------

    def _stream_for(self, obs: AccelBatch) -> _Stream:
        s = self._streams.get(obs.device)
        n = len(obs.samples)
        if s is not None and s.last is not None:
            expected_first = s.last.t + 1.0 / s.fs
            first = obs.at.t - (n - 1) / obs.fs
            seq_gap = obs.seq is not None and s.last_seq is not None and obs.seq != (s.last_seq + 1) % 65536
            if obs.fs != s.fs or seq_gap or abs(first - expected_first) > MAX_GAP_S:
                # Samples are missing or the rate changed: windows would mix unrelated motion.
                self.gaps += 1
                s = None
        if s is None:
            s = _Stream(obs.fs)
            self._streams[obs.device] = s
        return s

    def _scan(self, device: str, s: _Stream) -> list[Finding]:
        out: list[Finding] = []
        fs, p = s.fs, self.params
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
                end = s.trigger + round(PEAK_SEARCH_S * fs)
                if s.n <= end:
                    return out
                window = s.mag[s.trigger - s.base:end - s.base + 1]
                s.peak = s.trigger + int(np.argmax(window))
                s.decide_at = s.peak + round(POST_S * fs)
            assert s.decide_at is not None
            if s.n <= s.decide_at:
                return out
            finding = self._decide(device, s)
            if finding is not None:
                out.append(finding)
                s.refractory_until = s.decide_at + round(REFRACTORY_AFTER_FALL_S * fs)
            s.scan = s.trigger + round(PEAK_SEARCH_S * fs) + 1
            s.trigger = s.peak = s.decide_at = None

    def _decide(self, device: str, s: _Stream) -> Finding | None:
        assert s.peak is not None and s.decide_at is not None
        lo = s.base
        hi = s.decide_at - s.base + 1
        feats = compute_features(s.acc[:hi], s.mag[:hi], s.peak - lo, s.fs)
        score = self.params.score(feats)
        impact = s.stamp_of(s.peak)
        if self.record_candidates:
            self.candidates.append((device, impact.t, feats, score))
        w = self.wearables[device]
        if score < self.params.threshold_for(w.placement):
            return None
        decided = s.stamp_of(s.decide_at)
        pre = s.acc[max(0, s.peak - lo - round(PRE_S * s.fs)):max(0, s.peak - lo - round(1.5 * s.fs))]
        if pre.size:
            s.watch = (pre.mean(axis=0), decided.t + w.cancel_window_s)
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
                "peak_g": named["peak_g"],
                "posture_change_deg": named["posture_change_deg"],
                "stillness_std_g": named["post_still_std_g"],
                "freefall_min_g": named["freefall_min_g"],
                "placement": w.placement,
                "features": named,
            },
        )

    def _watch_recovery(self, device: str, s: _Stream) -> list[Finding]:
        if s.watch is None or s.last is None:
            return []
        upright, until = s.watch
        if s.last.t > until:
            s.watch = None
            return []
        k = round(RECOVERY_WINDOW_S * s.fs)
        if len(s.mag) < k:
            return []
        recent, recent_mag = s.acc[-k:], s.mag[-k:]
        mean = recent.mean(axis=0)
        cos = float(np.dot(mean, upright) / (np.linalg.norm(mean) * np.linalg.norm(upright) + 1e-9))
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        activity = float(recent_mag.std())
        if angle <= RECOVERY_MAX_ANGLE_DEG and activity >= RECOVERY_MIN_ACTIVITY_G:
            s.watch = None
            return [Finding(type="fall", severity=Severity.EMERGENCY, at=s.last, key=f"fall:{device}",
                            state=FindingState.CANCELLED, device=device,
                            evidence={"reason": "recovery", "angle_to_upright_deg": round(angle, 1),
                                      "activity_std_g": round(activity, 3)})]
        return []

    def _trim(self, s: _Stream) -> None:
        keep_from = s.n - round(KEEP_S * s.fs)
        if s.trigger is not None:
            keep_from = min(keep_from, s.trigger - round(PRE_S * s.fs))
        drop = keep_from - s.base
        if drop > round(2 * s.fs):  # trim in chunks, not every batch
            s.acc = s.acc[drop:]
            s.mag = s.mag[drop:]
            s.base += drop

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass
