"""Fitting and evaluating the fall detector on accelerometer trials (``carehub train fall``, ``eval fall``).

A fall trial says a fall happened, not which impact it was, so fitting is
multiple-instance: at first the impact with the largest velocity change of
each fall trial is its fall, then the candidate the model scores highest;
every candidate of an everyday-activity trial is a negative. Each file weighs
the same, and within a file falls and everyday activities weigh the same.
The model is boosted depth-2 trees (``model.py``), fitted by second-order
gradient boosting on quantile split points. Deterministic: no random state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from detection.fall.detector import FallDetector, FallWearable
from detection.fall.features import FEATURE_NAMES
from detection.fall.model import PLACEMENTS, FallParams, is_wrist, model_inputs
from detection.fall.trials import Trials, raised_falls, recovered_falls, replay

# Thresholds are set for these specificities on everyday activities the trees did
# not see: a hub that cries wolf every week gets switched off. The trunk's is the
# stricter (older people's everyday life must stay silent); at the wrist every
# point of specificity above 0.95 costs about two points of falls (docs).
TARGET_SPECIFICITY = {"waist": 0.995, "neck": 0.995, "wrist": 0.95}
_IMPACT = FEATURE_NAMES.index("impact_area_g_s")
CALIBRATION_FOLDS = 4


@dataclass
class Candidates:
    """Every impact candidate's features, per trial, of one file."""

    trials: Trials
    per_trial: list[np.ndarray]


def candidates(trials: Trials) -> Candidates:
    """Every impact candidate of every trial, as the detector sees them (none is scored away)."""
    never = FallParams(thresholds={p: 2.0 for p in PLACEMENTS})
    per_trial: list[np.ndarray] = []
    for i in range(len(trials)):
        det = FallDetector({"w": FallWearable(str(trials.placement[i]))}, never)
        det.record_candidates = True
        replay(det, "w", trials.samples(i), trials.fs)
        feats = [c.features for c in det.candidates]
        per_trial.append(np.array(feats) if feats else np.zeros((0, len(FEATURE_NAMES))))
    return Candidates(trials, per_trial)


N_TREES = 100
LEARNING_RATE = 0.1
BINS = 24  # candidate split points per input: quantiles of the training data
MIN_LEAF_WEIGHT = 0.002  # of the total weight: no rule for a handful of trials
RIDGE = 1e-3


def _best_split(bins: np.ndarray, edges: list[np.ndarray], g: np.ndarray, h: np.ndarray,
                mask: np.ndarray) -> tuple[int, float] | None:
    """The question ``x[j] <= t`` that most lowers the second-order loss of the samples in ``mask``."""
    gm, hm = g[mask], h[mask]
    G, H = gm.sum(), hm.sum()
    best, where = 0.0, None
    for j, e in enumerate(edges):
        if not len(e):
            continue
        gl = np.cumsum(np.bincount(bins[mask, j], gm, minlength=len(e) + 1))[:-1]
        hl = np.cumsum(np.bincount(bins[mask, j], hm, minlength=len(e) + 1))[:-1]
        ok = (hl >= MIN_LEAF_WEIGHT) & (H - hl >= MIN_LEAF_WEIGHT)
        gain = gl ** 2 / (hl + RIDGE) + (G - gl) ** 2 / (H - hl + RIDGE) - G ** 2 / (H + RIDGE)
        gain = np.where(ok, gain, 0.0)
        k = int(np.argmax(gain))
        if gain[k] > best:
            best, where = float(gain[k]), (j, float(e[k]))
    return where


def _boost(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient-boosted depth-2 trees for the weighted logistic loss (deterministic)."""
    w = w / w.sum()
    edges = [np.unique(np.quantile(x[:, j], np.linspace(0, 1, BINS + 1)[1:-1])) for j in range(x.shape[1])]
    # bins[:, j] = number of edges below x: x <= edges[k] exactly when bins <= k
    bins = np.stack([np.searchsorted(e, x[:, j], side="left") for j, e in enumerate(edges)], axis=1)
    f = np.zeros(len(y))
    node_f, node_t, leaves = [], [], []
    for _ in range(N_TREES):
        p = 1 / (1 + np.exp(-f))
        g, h = w * (p - y), w * p * (1 - p)
        root = _best_split(bins, edges, g, h, np.ones(len(y), bool))
        if root is None:
            break
        left = x[:, root[0]] <= root[1]
        kids = [_best_split(bins, edges, g, h, m) or (0, np.inf) for m in (left, ~left)]
        values = np.zeros(4)
        reach = np.zeros(len(y), dtype=int)
        for side, m in enumerate((left, ~left)):
            j, t = kids[side]
            second = x[:, j] > t
            for q in (0, 1):
                sm = m & (second == bool(q))
                values[2 * side + q] = -LEARNING_RATE * g[sm].sum() / (h[sm].sum() + RIDGE) if sm.any() else 0.0
                reach[sm] = 2 * side + q
        node_f.append((root[0], kids[0][0], kids[1][0]))
        node_t.append((root[1], kids[0][1], kids[1][1]))
        leaves.append(values)
        f += values[reach]
    return (np.array(node_f, dtype=np.intp).reshape(-1, 3), np.array(node_t).reshape(-1, 3),
            np.array(leaves).reshape(-1, 4))


def trial_scores(params: FallParams, c: Candidates, idx: np.ndarray) -> np.ndarray:
    """Each trial's highest candidate score (0 without candidates): above the threshold, the trial raises a fall."""
    out = np.zeros(len(idx))
    for j, i in enumerate(idx):
        f = c.per_trial[i]
        if len(f):
            z = float(np.clip(params.logit(f, str(c.trials.placement[i])).max(), -50, 50))
            out[j] = 1 / (1 + np.exp(-z))
    return out


def _fit_trees(parts: list[tuple[Candidates, np.ndarray]], rounds: int) -> FallParams:
    choice: list[list[int]] = [[int(np.argmax(c.per_trial[i][:, _IMPACT])) if len(c.per_trial[i]) else -1
                                for i in idx] for c, idx in parts]
    params = FallParams()
    for _ in range(rounds):
        xs, ys, ws = [], [], []
        for (c, idx), ch in zip(parts, choice, strict=True):
            falls = c.trials.is_fall[idx]
            pos = [model_inputs(c.per_trial[i][k], str(c.trials.placement[i]))
                   for i, k, f in zip(idx, ch, falls, strict=True) if f and k >= 0]
            neg = [model_inputs(c.per_trial[i], str(c.trials.placement[i]))
                   for i, f in zip(idx, falls, strict=True) if not f and len(c.per_trial[i])]
            for rows, label in ((pos, 1.0), (neg, 0.0)):
                if not rows:
                    continue
                x_part = np.concatenate(rows)
                xs.append(x_part)
                ys.append(np.full(len(x_part), label))
                ws.append(np.full(len(x_part), 0.5 / len(x_part) / len(parts)))
        node_f, node_t, leaves = _boost(np.concatenate(xs), np.concatenate(ys), np.concatenate(ws))
        params = FallParams(node_f=node_f, node_t=node_t, leaves=leaves)
        choice = [[int(np.argmax(params.logit(c.per_trial[i], str(c.trials.placement[i]))))
                   if len(c.per_trial[i]) else -1 for i in idx] for c, idx in parts]
    return params


def fit(parts: list[tuple[Candidates, np.ndarray]], *, rounds: int = 2,
        calibration_folds: int = CALIBRATION_FOLDS) -> FallParams:
    """Fit on the trials ``idx`` of each file's candidates.

    The thresholds are set on everyday-activity scores the trees did not see:
    out-of-fold, from ``calibration_folds`` subject-wise refits (trees score their
    own training trials lower than new people's, so in-sample thresholds would
    promise a specificity that new people do not get). 0: in-sample.
    """
    params = _fit_trees(parts, rounds)
    adl: dict[str, list[np.ndarray]] = {"trunk": [], "wrist": []}
    if calibration_folds > 1:
        folds = [[idx[f] for f in subject_folds(c.trials.subject[idx], calibration_folds)] for c, idx in parts]
        for k in range(calibration_folds):
            train = [(c, np.setdiff1d(idx, folds[n][k])) for n, (c, idx) in enumerate(parts)]
            inner = _fit_trees(train, rounds)
            for n, (c, _) in enumerate(parts):
                _collect(adl, inner, c, folds[n][k])
    else:
        for c, idx in parts:
            _collect(adl, params, c, idx)
    return _with_thresholds(params, adl)


def _collect(adl: dict[str, list[np.ndarray]], params: FallParams, c: Candidates, idx: np.ndarray) -> None:
    for group in adl:
        sel = np.array([i for i in idx if is_wrist(str(c.trials.placement[i])) == (group == "wrist")
                        and not c.trials.is_fall[i]], dtype=int)
        if sel.size:
            adl[group].append(trial_scores(params, c, sel))


def _with_thresholds(params: FallParams, adl: dict[str, list[np.ndarray]]) -> FallParams:
    """Per placement group, the lowest threshold that keeps everyday-activity specificity at its target."""
    thresholds = dict(params.thresholds)
    for group, found in adl.items():
        names = ("wrist",) if group == "wrist" else ("waist", "neck")
        if not found:
            continue
        scores = np.sort(np.concatenate(found))
        target = min(TARGET_SPECIFICITY[n] for n in names)
        k = min(len(scores) - 1, int(np.ceil(target * len(scores))) - 1)
        t = float(min(0.999, max(0.05, scores[k] + 1e-6)))
        for n in names:
            thresholds[n] = t
    if not adl["wrist"]:
        # Never fitted on a wrist: at least as sure as for the trunk.
        thresholds["wrist"] = max(thresholds["wrist"], thresholds["waist"])
    return replace(params, thresholds=thresholds)


@dataclass(frozen=True)
class Outcome:
    detected: bool  # raised as an emergency
    recovered: bool  # raised, then the wearer got up (urgent)
    latency_s: float | None  # decision time after the impact peak


def evaluate(trials: Trials, idx: np.ndarray, params: FallParams, placement: str | None = None) -> list[Outcome]:
    """Replay each trial through the detector, as ``carehub replay wearable`` does."""
    out = []
    for i in idx:
        det = FallDetector({"w": FallWearable(placement or str(trials.placement[i]))}, params)
        findings = replay(det, "w", trials.samples(i), trials.fs)
        falls = raised_falls(findings)
        latency = float(falls[0].evidence["decision_latency_s"]) if falls else None
        out.append(Outcome(bool(falls), bool(recovered_falls(findings)), latency))
    return out


def subject_folds(subjects: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """K folds of trial indices, every subject's trials in exactly one fold."""
    names = sorted(set(subjects.tolist()))
    rng = np.random.default_rng(seed)
    rng.shuffle(names)
    return [np.nonzero(np.isin(subjects, names[f::k]))[0] for f in range(k)]


def metrics(trials: Trials, idx: np.ndarray, outcomes: list[Outcome]) -> dict[str, float]:
    falls = trials.is_fall[idx]
    det = np.array([o.detected for o in outcomes], dtype=bool)
    seen = det | np.array([o.recovered for o in outcomes], dtype=bool)
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
        "detected_sensitivity": round(int((seen & falls).sum()) / max(1, int(falls.sum())), 4),
        "detected_specificity": round(1 - int((seen & ~falls).sum()) / max(1, int((~falls).sum())), 4),
        "false_alarms_per_hour_adl": round(fp / adl_hours, 3) if adl_hours else 0.0,
        "latency_median_s": round(float(np.median(lat)), 2) if lat.size else float("nan"),
        "latency_p95_s": round(float(np.percentile(lat, 95)), 2) if lat.size else float("nan"),
    }
