"""``carehub train fall``: fit the fall detector's parameters on accelerometer trials.

Deterministic: the same data give the same file. The shipped parameters
(``detection/fall/params.npz``) are made with
``carehub train fall --data ../shared/data/sisfall-young-50hz.npz``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from detection.fall.model import SHIPPED


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="accelerometer trials (.npz, format A)")
    p.add_argument("--out", type=Path, default=SHIPPED, help=f"where to write the parameters (default {SHIPPED})")
    p.add_argument("--l2", type=float, default=0.01, help="L2 regularisation of the logistic model")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gateway.fall_training import fit, load_trials

    trials = load_trials(args.data)
    params = fit(trials, np.arange(len(trials)), l2=args.l2)
    params.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): threshold {params.threshold:.3f}, "
          f"fitted on {len(trials)} trials of {len(set(trials.subject.tolist()))} subjects")
    return 0
