"""Accelerometer trials (format A, ``../shared/data/README.md``) and replaying them through the detector.

Everything drives the same ``FallDetector`` the daemon runs, batch by batch,
so that replay, training and evaluation see what the hub would see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection.events import AccelBatch, Finding, FindingState, Stamp
from detection.fall.detector import FallDetector

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
    name: str = ""

    def __len__(self) -> int:
        return len(self.trial)

    def samples(self, i: int) -> np.ndarray:
        return self.acc[self.offsets[i]:self.offsets[i + 1]]

    def seconds(self, i: int) -> float:
        return float(self.offsets[i + 1] - self.offsets[i]) / self.fs


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
            name=Path(path).name,
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
    """Falls raised as emergencies: not followed by a recovery seen within the recording."""
    recovered = {f.key for f in findings if f.state is FindingState.CANCELLED}
    return [f for f in findings if f.type == "fall" and f.state is FindingState.RAISED and f.key not in recovered]


def recovered_falls(findings: list[Finding]) -> list[Finding]:
    """Falls raised and then recovered from within the recording (urgent, not emergencies)."""
    recovered = {f.key for f in findings if f.state is FindingState.CANCELLED}
    return [f for f in findings if f.type == "fall" and f.state is FindingState.RAISED and f.key in recovered]
