"""The fall detector's learned part: a logistic model over the physical features.

Stored as a small ``.npz`` (a few hundred bytes) and loaded with numpy alone,
so the hub needs no machine-learning library. Training is in
``gateway/fall_training.py`` (``carehub train fall``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.fall.features import FEATURE_NAMES

SHIPPED = Path(__file__).with_name("params.npz")

# Transformations applied before the linear model: heavy-tailed magnitudes are
# compared on a log scale, so one hard landing does not dominate.
_LOG_FEATURES = {"peak_g", "impact_energy", "post_still_std_g", "post_mean_dev_g", "pre_activity_std_g",
                 "post_max_g"}


def transform(features: np.ndarray) -> np.ndarray:
    x = np.array(features, dtype=float, copy=True)
    for i, name in enumerate(FEATURE_NAMES):
        if name in _LOG_FEATURES:
            x[..., i] = np.log(np.maximum(x[..., i], 1e-3))
    return x


_N = len(FEATURE_NAMES)
_PAIRS = np.triu_indices(_N)


def expand(z: np.ndarray, n_weights: int) -> np.ndarray:
    """Standardised features, plus their pairwise products when the model has weights for them.

    The products let a linear model say "an impact *and* a change of posture",
    which is what separates a fall from either alone.
    """
    if n_weights == _N:
        return z
    return np.concatenate([z, z[..., _PAIRS[0]] * z[..., _PAIRS[1]]], axis=-1)


@dataclass(frozen=True)
class FallParams:
    trigger_g: float = 1.6
    mean: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURE_NAMES)))
    scale: np.ndarray = field(default_factory=lambda: np.ones(len(FEATURE_NAMES)))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURE_NAMES)))
    bias: float = 0.0
    threshold: float = 0.5
    # Added to the threshold per placement: the wrist swings far more than the
    # waist, so it must be surer; no wrist data were used to fit the weights.
    placement_margin: dict[str, float] = field(default_factory=lambda: {"waist": 0.0, "neck": 0.05, "wrist": 0.2})

    def score(self, features: np.ndarray) -> float:
        z = expand((transform(features) - self.mean) / self.scale, len(self.weights))
        return float(1.0 / (1.0 + np.exp(-(z @ self.weights + self.bias))))

    def threshold_for(self, placement: str) -> float:
        return min(0.99, self.threshold + self.placement_margin.get(placement, 0.1))

    def save(self, path: str | Path) -> None:
        names = sorted(self.placement_margin)
        np.savez(
            path, trigger_g=self.trigger_g, mean=self.mean, scale=self.scale, weights=self.weights,
            bias=self.bias, threshold=self.threshold, feature_names=np.array(FEATURE_NAMES),
            margin_names=np.array(names), margin_values=np.array([self.placement_margin[n] for n in names]),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> FallParams:
        with np.load(path or SHIPPED) as d:
            if tuple(str(n) for n in d["feature_names"]) != FEATURE_NAMES:
                raise ValueError(f"{path or SHIPPED} was fitted on other features; retrain (carehub train fall)")
            return cls(
                trigger_g=float(d["trigger_g"]), mean=d["mean"].astype(float), scale=d["scale"].astype(float),
                weights=d["weights"].astype(float), bias=float(d["bias"]), threshold=float(d["threshold"]),
                placement_margin={str(n): float(v) for n, v in zip(d["margin_names"], d["margin_values"],
                                                                    strict=True)},
            )
