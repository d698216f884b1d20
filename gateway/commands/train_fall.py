"""``carehub train fall``: fit the fall detector's parameters on accelerometer trials.

Deterministic: the same data give the same file. The shipped parameters
(``detection/fall/params.npz``) are made with ``carehub train fall --overwrite-shipped
--data ../shared/data/sisfall-young-50hz.npz --data ../shared/data/weda-fall-wrist-50hz.npz``:
one model for every placement, fitted on every file given (each file weighs the same).
Without ``--overwrite-shipped`` the result goes only where ``--output`` says, so an
experiment never replaces what every hub runs by accident.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.fall.model import SHIPPED


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, action="append", required=True,
                   help="accelerometer trials (.npz, format A); repeat for several files")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--output", "--out", type=Path, help="where to write the parameters (.npz)")
    where.add_argument("--overwrite-shipped", action="store_true",
                       help=f"replace the shipped parameters ({SHIPPED}) that every hub runs")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from detection.fall.training import candidates, fit
    from detection.fall.trials import load_trials
    from gateway.commands.progress import Progress

    out: Path = SHIPPED if args.overwrite_shipped else args.output
    if not args.overwrite_shipped and out.resolve() == SHIPPED.resolve():
        print(f"carehub train fall: {out} is the shipped parameters file; say --overwrite-shipped to replace it",
              file=sys.stderr)
        return 2
    if out.suffix != ".npz":
        out = Path(f"{out}.npz")  # numpy would add it anyway
    progress = Progress("train fall", len(args.data) + 1, "steps")
    parts = []
    try:
        for n, path in enumerate(args.data):
            progress.update(n, f"features of {path.name}")
            trials = load_trials(path)
            parts.append((candidates(trials), np.arange(len(trials))))
    except (OSError, ValueError, KeyError) as exc:
        progress.done()
        print(f"carehub train fall: {exc}", file=sys.stderr)
        return 2
    progress.update(len(args.data), "fitting")
    params = fit(parts)
    progress.done()
    try:
        params.save(out)
    except OSError as exc:
        print(f"carehub train fall: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    thresholds = ", ".join(f"{k} {v:.3f}" for k, v in sorted(params.thresholds.items()))
    print(f"wrote {out} ({out.stat().st_size} bytes): thresholds {thresholds}; fitted on "
          + "; ".join(f"{c.trials.name} ({len(c.trials)} trials)" for c, _ in parts))
    return 0
