"""``carehub train fall``: fit the fall detector's parameters on accelerometer trials.

Deterministic: the same data give the same file. The shipped parameters
(``detection/fall/params.npz``) are made with
``carehub train fall --data ../shared/data/sisfall-young-50hz.npz --data ../shared/data/weda-fall-wrist-50hz.npz``:
one model for every placement, fitted on every file given (each file weighs the same).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from detection.fall.model import SHIPPED


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, action="append", required=True,
                   help="accelerometer trials (.npz, format A); repeat for several files")
    p.add_argument("--out", type=Path, default=SHIPPED, help=f"where to write the parameters (default {SHIPPED})")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from detection.fall.training import candidates, fit
    from detection.fall.trials import load_trials

    parts = []
    for path in args.data:
        trials = load_trials(path)
        parts.append((candidates(trials), np.arange(len(trials))))
    params = fit(parts)
    params.save(args.out)
    thresholds = ", ".join(f"{k} {v:.3f}" for k, v in sorted(params.thresholds.items()))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): thresholds {thresholds}; fitted on "
          + "; ".join(f"{c.trials.name} ({len(c.trials)} trials)" for c, _ in parts))
    return 0
