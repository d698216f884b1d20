"""The fall detector's learned part: a small ensemble of boosted depth-2 trees over the physical features.

One model for every placement: placement is one of its inputs (wrist or
trunk; a neck pendant is judged as the trunk), so the trees can say "a new
orientation means less on a wrist, which turns on its own" where the data show
it. Depth-2 trees state rules of two physical conditions ("an impact *and* no
jogging before it"), which a linear model cannot. Stored as a small ``.npz``
of arrays and evaluated with numpy alone, so the hub needs no
machine-learning library. Training is in
``detection/fall/training.py`` (``carehub train fall``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.fall.features import FEATURE_NAMES

SHIPPED = Path(__file__).with_name("params.npz")

# Features the model uses (the rest are evidence only), and how: heavy-tailed
# quantities on a log scale so one hard landing does not dominate.
MODEL_FEATURES = ("impact_area_g_s", "high_time_s", "freefall_area_g_s", "freefall_min_g", "posture_change_deg",
                  "post_std_g", "post_max_g", "pre_std_g", "peaks_around", "peak_g", "pre_max_g", "post_dev_g",
                  "quiet_std_g", "quiet_posture_deg")
_LOG = {"impact_area_g_s": 0.02, "high_time_s": 0.02, "freefall_area_g_s": 0.01, "post_std_g": 0.01,
        "pre_std_g": 0.01, "post_dev_g": 0.01, "quiet_std_g": 0.005}
_INDEX = [FEATURE_NAMES.index(n) for n in MODEL_FEATURES]
PLACEMENTS = ("waist", "neck", "wrist")


def transform(features: np.ndarray) -> np.ndarray:
    """The model's inputs from the physical features (any leading shape)."""
    x = np.asarray(features, dtype=float)[..., _INDEX].copy()
    for i, name in enumerate(MODEL_FEATURES):
        if name in _LOG:
            x[..., i] = np.log(np.maximum(x[..., i], 0.0) + _LOG[name])
        elif name == "peaks_around":
            x[..., i] = np.log1p(np.maximum(x[..., i], 0.0))
    return x


def is_wrist(placement: str) -> bool:
    return placement == "wrist"


def model_inputs(features: np.ndarray, placement: str) -> np.ndarray:
    """Model inputs for candidates ``features`` (n, F) worn at ``placement``: transformed features, then is-wrist."""
    x = transform(np.atleast_2d(features))
    return np.concatenate([x, np.full((len(x), 1), float(is_wrist(placement)))], axis=1)


@dataclass(frozen=True)
class FallParams:
    """Boosted depth-2 trees: tree i asks ``x[root_f] <= root_t``, then one more question per side.

    ``node_f``/``node_t`` (n, 3) hold the root, the left child's and the right
    child's questions; ``leaves`` (n, 4) the values of left-left, left-right,
    right-left, right-right. The score is the logistic of ``bias`` plus the
    leaves reached. An empty model scores 0.5.
    """

    trigger_g: float = 1.6
    node_f: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int16))
    node_t: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    leaves: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    bias: float = 0.0
    thresholds: dict[str, float] = field(default_factory=lambda: {p: 0.5 for p in PLACEMENTS})

    def logit(self, features: np.ndarray, placement: str) -> np.ndarray:
        """One logit per candidate row of ``features``."""
        x = model_inputs(features, placement)
        if not len(self.leaves):
            return np.full(len(x), self.bias)
        f, t = self.node_f, self.node_t
        go_right = x[:, f[:, 0]] > t[:, 0]  # (candidates, trees)
        second = np.where(go_right, x[:, f[:, 2]] > t[:, 2], x[:, f[:, 1]] > t[:, 1])
        leaf = go_right * 2 + second
        trees = np.arange(len(self.leaves))
        return np.asarray(self.bias + self.leaves[trees[None, :], leaf].sum(axis=1))

    def score(self, features: np.ndarray, placement: str = "waist") -> float:
        z = float(np.clip(self.logit(features, placement)[0], -50, 50))
        return float(1.0 / (1.0 + np.exp(-z)))

    def threshold_for(self, placement: str) -> float:
        # An unknown placement is judged like the wrist when it is a wrist, else like the trunk.
        return self.thresholds.get(placement, self.thresholds.get("wrist" if is_wrist(placement) else "waist", 0.5))

    def save(self, path: str | Path) -> None:
        names = sorted(self.thresholds)
        np.savez(
            path, trigger_g=self.trigger_g, node_f=self.node_f.astype(np.int16), node_t=self.node_t,
            leaves=self.leaves, bias=self.bias, feature_names=np.array(MODEL_FEATURES),
            threshold_names=np.array(names), threshold_values=np.array([self.thresholds[n] for n in names]),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> FallParams:
        with np.load(path or SHIPPED) as d:
            if "node_f" not in d.files or tuple(str(n) for n in d["feature_names"]) != MODEL_FEATURES:
                raise ValueError(f"{path or SHIPPED} was fitted on other features; retrain (carehub train fall)")
            return cls(
                trigger_g=float(d["trigger_g"]), node_f=d["node_f"].astype(np.intp), node_t=d["node_t"].astype(float),
                leaves=d["leaves"].astype(float), bias=float(d["bias"]),
                thresholds={str(n): float(v) for n, v in zip(d["threshold_names"], d["threshold_values"],
                                                             strict=True)},
            )
