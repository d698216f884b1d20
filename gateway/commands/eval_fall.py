"""``carehub eval fall``: sensitivity, specificity, F1, false alarms and latency on trials.

With ``--folds K`` (default 5) the model is refitted K times, each time
without one group of subjects, and tested on that group (subject-wise
cross-validation: no subject is ever in both). ``--folds 0`` evaluates the
shipped parameters on the whole file instead (for data the model never saw).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="accelerometer trials (.npz, format A)")
    p.add_argument("--folds", type=int, default=5, help="subject-wise folds (0: shipped parameters, no refit)")
    p.add_argument("--placement", choices=("waist", "neck", "wrist"), help="override the file's placement column")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from detection.fall import FallParams
    from gateway.fall_training import evaluate, fit, load_trials, metrics, subject_folds

    trials = load_trials(args.data)
    everything = np.arange(len(trials))
    if args.folds <= 0:
        idx, outcomes = everything, evaluate(trials, everything, FallParams.load(), args.placement)
        how = "shipped parameters, whole file"
    else:
        if len(set(trials.subject.tolist())) < args.folds:
            print(f"carehub eval fall: fewer subjects than --folds {args.folds}")
            return 2
        parts, outcomes = [], []
        for test in subject_folds(trials.subject, args.folds):
            params = fit(trials, np.setdiff1d(everything, test))
            outcomes += evaluate(trials, test, params, args.placement)
            parts.append(test)
        idx = np.concatenate(parts)
        how = f"subject-wise {args.folds}-fold cross-validation"
    m = metrics(trials, idx, outcomes)
    if args.json:
        print(json.dumps({"method": how, **m}))
        return 0
    print(f"{args.data} ({how}): {m['trials']} trials, {m['falls']} falls, {m['adl']} everyday activities")
    for key in ("sensitivity", "specificity", "precision", "f1", "false_alarms_per_hour_adl",
                "latency_median_s", "latency_p95_s", "tp", "fn", "fp", "tn"):
        print(f"  {key:<26} {m[key]}")
    return 0
