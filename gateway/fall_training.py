"""Replaying, fitting and evaluating the fall detector on accelerometer trials (format A).

Everything here drives the same ``FallDetector`` the daemon runs, batch by
batch, so that replay, training and evaluation see what the hub would see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from detection.events import AccelBatch, Finding, FindingState, Stamp
from detection.fall import FallDetector, FallParams, FallWearable
from detection.fall.features import FEATURE_NAMES
from detection.fall.model import expand, transform

BATCH = 10


@dataclass(frozen=True)
class Trials:
    acc: np.ndarray  # float32 (N, 3) in g
    offsets: np.ndarray
    fs: float
    subject: np.ndarray
    activity: np.ndarray
    trial: np.ndarray
    is_fall: np.ndarray
    placement: np.ndarray

    def __len__(self) -> int:
        return len(self.trial)

    def samples(self, i: int) -> np.ndarray:
        return self.acc[self.offsets[i]:self.offsets[i + 1]]

    def seconds(self, i: int) -> float:
        return (self.offsets[i + 1] - self.offsets[i]) / self.fs


def load_trials(path: str | Path) -> Trials:
    with np.load(path) as d:
        missing = {"acc", "offsets", "fs", "trial"} - set(d.files)
        if missing:
            raise ValueError(f"{path}: not an accelerometer-trials file (missing {', '.join(sorted(missing))})")
        n = len(d["trial"])
        return Trials(
            acc=d["acc"].astype(np.float32) / 1000.0,
            offsets=d["offsets"].astype(np.int64),
            fs=float(d["fs"]),
            subject=d["subject"] if "subject" in d.files else np.array(["?"] * n),
            activity=d["activity"] if "activity" in d.files else np.array(["?"] * n),
            trial=d["trial"],
            is_fall=d["is_fall"].astype(bool) if "is_fall" in d.files else np.zeros(n, bool),
            placement=d["placement"] if "placement" in d.files else np.array(["waist"] * n),
        )


def replay(detector: FallDetector, device: str, samples: np.ndarray, fs: float, batch: int = BATCH) -> list[Finding]:
    """Feed one recording in batches as a wearable would; time 0 is the first sample."""
    out: list[Finding] = []
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        t_last = (start + len(chunk) - 1) / fs
        out += detector.observe(AccelBatch(device=device, at=Stamp(t_last, t_last), fs=fs, samples=chunk))
    return out


def raised_falls(findings: list[Finding]) -> list[Finding]:
    """Falls raised and not cancelled by a recovery seen within the recording."""
    cancelled = {f.key for f in findings if f.state is FindingState.CANCELLED}
    return [f for f in findings if f.type == "fall" and f.state is FindingState.RAISED and f.key not in cancelled]


def candidates(trials: Trials, idx: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Every impact candidate's features, per trial (scored by no model: all are recorded)."""
    per_trial: list[np.ndarray] = []
    for i in idx:
        det = FallDetector({"w": FallWearable(str(trials.placement[i]))}, FallParams(threshold=2.0))
        det.record_candidates = True
        replay(det, "w", trials.samples(i), trials.fs)
        feats = [c[2] for c in det.candidates]
        per_trial.append(np.array(feats) if feats else np.zeros((0, len(FEATURE_NAMES))))
    return per_trial, idx


def _fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta[:-1] + theta[-1]
        p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        eps = 1e-9
        nll = -(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))).sum() / w.sum()
        g = (w * (p - y)) / w.sum()
        grad = np.concatenate([x.T @ g + l2 * theta[:-1], [g.sum()]])
        return nll + 0.5 * l2 * float(theta[:-1] @ theta[:-1]), grad

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    return res.x[:-1], float(res.x[-1])


def fit(trials: Trials, idx: np.ndarray, *, l2: float = 0.01, rounds: int = 3, pairs: bool = False,
        min_specificity: float = 0.0) -> FallParams:
    """Fit the model on the trials ``idx``.

    A fall trial says a fall happened, not which impact it was, so this is
    multiple-instance learning: at first the hardest impact of each fall trial
    is its fall; then the candidate the model scores highest. Every candidate of
    an everyday-activity trial is a negative.
    """
    per_trial, _ = candidates(trials, idx)
    falls = trials.is_fall[idx]
    neg = [f for f, is_f in zip(per_trial, falls, strict=True) if not is_f and len(f)]
    x_neg = np.concatenate(neg) if neg else np.zeros((0, len(FEATURE_NAMES)))
    pos_choice = [int(np.argmax(f[:, 0])) if len(f) else -1 for f in per_trial]
    params = FallParams()
    for _ in range(rounds):
        x_pos = np.array([f[c] for f, c, is_f in zip(per_trial, pos_choice, falls, strict=True) if is_f and c >= 0])
        x = transform(np.concatenate([x_pos, x_neg]))
        y = np.concatenate([np.ones(len(x_pos)), np.zeros(len(x_neg))])
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        # Balance the classes: a false alarm in everyday life matters as much as a missed fall here.
        w = np.where(y == 1, 0.5 / max(1, len(x_pos)), 0.5 / max(1, len(x_neg))) * len(y)
        z = (x - mean) / scale
        weights, bias = _fit_logistic(expand(z, len(FEATURE_NAMES) + (1 if pairs else 0)), y, w, l2)
        params = FallParams(mean=mean, scale=scale, weights=weights, bias=bias)
        pos_choice = [int(np.argmax([params.score(c) for c in f])) if len(f) else -1 for f in per_trial]
    # Threshold: the best trial-level F1 on the training trials among thresholds that keep
    # everyday life nearly silent (a hub that cries wolf gets switched off); ties go to
    # the lower threshold (sensitivity).
    trial_max = np.array([max((params.score(c) for c in f), default=0.0) for f in per_trial])
    best_t, best_key = 0.5, (-1, -1.0)
    for t in np.linspace(0.05, 0.95, 181):
        det = trial_max >= t
        tp = int((det & falls).sum())
        fp = int((det & ~falls).sum())
        fn = int((~det & falls).sum())
        spec = 1 - fp / max(1, int((~falls).sum()))
        key = (int(spec >= min_specificity), 2 * tp / max(1, 2 * tp + fp + fn))
        if key > best_key:
            best_t, best_key = float(t), key
    return FallParams(mean=params.mean, scale=params.scale, weights=params.weights, bias=params.bias,
                      threshold=best_t)


@dataclass(frozen=True)
class Outcome:
    detected: bool
    latency_s: float | None  # decision time after the impact peak


def evaluate(trials: Trials, idx: np.ndarray, params: FallParams, placement: str | None = None) -> list[Outcome]:
    out = []
    for i in idx:
        det = FallDetector({"w": FallWearable(placement or str(trials.placement[i]))}, params)
        falls = raised_falls(replay(det, "w", trials.samples(i), trials.fs))
        latency = float(falls[0].evidence["decision_latency_s"]) if falls else None
        out.append(Outcome(bool(falls), latency))
    return out


def subject_folds(subjects: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """K folds of trial indices, every subject's trials in exactly one fold."""
    names = sorted(set(subjects.tolist()))
    rng = np.random.default_rng(seed)
    rng.shuffle(names)
    return [np.nonzero(np.isin(subjects, names[f::k]))[0] for f in range(k)]


def metrics(trials: Trials, idx: np.ndarray, outcomes: list[Outcome]) -> dict[str, float]:
    falls = trials.is_fall[idx]
    det = np.array([o.detected for o in outcomes])
    tp, fn = int((det & falls).sum()), int((~det & falls).sum())
    fp, tn = int((det & ~falls).sum()), int((~det & ~falls).sum())
    adl_hours = sum(trials.seconds(i) for i, f in zip(idx, falls, strict=True) if not f) / 3600
    lat = np.array([o.latency_s for o, f in zip(outcomes, falls, strict=True) if f and o.latency_s is not None])
    sens = tp / max(1, tp + fn)
    spec = tn / max(1, tn + fp)
    prec = tp / max(1, tp + fp)
    return {
        "trials": len(idx), "falls": int(falls.sum()), "adl": int((~falls).sum()),
        "tp": tp, "fn": fn, "fp": fp, "tn": tn,
        "sensitivity": round(sens, 4), "specificity": round(spec, 4), "precision": round(prec, 4),
        "f1": round(2 * prec * sens / max(1e-9, prec + sens), 4),
        "false_alarms_per_hour_adl": round(fp / adl_hours, 3) if adl_hours else 0.0,
        "latency_median_s": round(float(np.median(lat)), 2) if lat.size else float("nan"),
        "latency_p95_s": round(float(np.percentile(lat, 95)), 2) if lat.size else float("nan"),
    }
