"""``carehub eval fall --data A.npz [--data B.npz ...]``: how well fall detection holds, and where it shifts.

For each file: subject-wise cross-validation (``--folds K``, default 5: the
model is refitted K times, each time without one group of that file's subjects
but with every other file, and tested on that group, so no subject is ever in
both). With two or more files, the cross-data-set figures: fit on all files
but one, test on that one (placement, device and protocol shift together).
``--hold-out S1,S2`` adds one more: fit on everything but those subjects, test
on their trials (e.g. WEDA's older participants). ``--folds 0`` evaluates the
shipped parameters on each whole file instead. Every test trial is replayed
through the detector in batches, as ``carehub replay wearable`` does; figures
are per placement where a file has several; the cross-validation also prints
the out-of-fold sensitivity at specificities 0.95, 0.98 and 0.99 (the
threshold swept), to compare operating points.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KEYS = ("sensitivity", "specificity", "f1", "detected_sensitivity", "detected_specificity",
        "false_alarms_per_hour_adl", "latency_median_s", "latency_p95_s", "tp", "fn", "fp", "tn")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, action="append", required=True,
                   help="accelerometer trials (.npz, format A); repeat for several files")
    p.add_argument("--folds", type=int, default=5, help="subject-wise folds (0: shipped parameters, no refit)")
    p.add_argument("--hold-out", default="", help="comma-separated subjects to hold out of fitting and test on")
    p.add_argument("--placement", choices=("waist", "neck", "wrist"), help="override the files' placement column")
    p.add_argument("--json", action="store_true", help="one JSON object per row of figures instead of a table")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from detection.fall import FallParams
    from detection.fall.training import (
        Candidates,
        Outcome,
        candidates,
        evaluate,
        fit,
        metrics,
        subject_folds,
        trial_scores,
    )
    from detection.fall.trials import Trials, load_trials
    from gateway.commands.progress import Progress

    try:
        files = [load_trials(p) for p in args.data]
    except (OSError, ValueError, KeyError) as exc:
        print(f"carehub eval fall: {exc}", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    fits = len(files) * max(args.folds, 0) + (len(files) if len(files) > 1 and args.folds > 0 else 0)
    progress = Progress("eval fall", max(fits + bool(args.hold_out), len(files)), "steps")
    fitted = 0

    def step(note: str) -> None:
        nonlocal fitted
        fitted += 1
        progress.update(fitted, note)

    def curve(trials: Trials, idx: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """Out-of-fold sensitivity (any fall raised) at fixed specificities, the thresholds swept."""
        falls = trials.is_fall[idx]
        neg = np.sort(scores[~falls])
        out: dict[str, float] = {}
        for spec in (0.95, 0.98, 0.99):
            if not len(neg) or not falls.any():
                continue
            t = neg[min(len(neg) - 1, int(np.ceil(spec * len(neg))) - 1)] + 1e-9
            out[f"sensitivity_at_specificity_{spec}"] = round(float((scores[falls] >= t).mean()), 4)
        return out

    def report(how: str, trials: Trials, idx: np.ndarray, outcomes: list[Outcome],
               scores: np.ndarray | None = None) -> None:
        placements = sorted(set(str(p) for p in (trials.placement[idx] if args.placement is None
                                                   else [args.placement])))
        for placement in placements:
            sel = np.array([k for k, i in enumerate(idx) if args.placement or trials.placement[i] == placement])
            m = metrics(trials, idx[sel], [outcomes[k] for k in sel])
            extra = curve(trials, idx[sel], scores[sel]) if scores is not None else {}
            rows.append({"file": trials.name, "placement": placement, "method": how, **m, **extra})

    if args.folds <= 0:
        shipped = FallParams.load()
        for trials in files:
            everything = np.arange(len(trials))
            report("shipped parameters, whole file", trials, everything,
                   evaluate(trials, everything, shipped, args.placement))
            step(trials.name)
    else:
        cands: list[Candidates] = [candidates(t) for t in files]
        everyone = [np.arange(len(t)) for t in files]
        for n, (trials, c) in enumerate(zip(files, cands, strict=True)):
            if len(set(trials.subject.tolist())) < args.folds:
                print(f"carehub eval fall: {trials.name} has fewer subjects than --folds {args.folds}", file=sys.stderr)
                return 2
            parts: list[np.ndarray] = []
            outcomes: list[Outcome] = []
            scores: list[np.ndarray] = []
            for test in subject_folds(trials.subject, args.folds):
                others = [(cands[o], everyone[o]) for o in range(len(files)) if o != n]
                params = fit([(c, np.setdiff1d(everyone[n], test)), *others])
                outcomes += evaluate(trials, test, params, args.placement)
                step(f"{trials.name}, fold {len(parts) + 1} of {args.folds}")
                scores.append(trial_scores(params, c, test))
                parts.append(test)
            report(f"subject-wise {args.folds}-fold cross-validation (other files in every fit)", trials,
                   np.concatenate(parts), outcomes, np.concatenate(scores))
        if len(files) > 1:
            for n, trials in enumerate(files):
                params = fit([(cands[o], everyone[o]) for o in range(len(files)) if o != n])
                names = ", ".join(files[o].name for o in range(len(files)) if o != n)
                report(f"fitted on {names} only", trials, everyone[n],
                       evaluate(trials, everyone[n], params, args.placement))
                step(f"{trials.name} from the other files")
        held = {s for s in args.hold_out.split(",") if s}
        if held:
            parts_fit = [(c, np.nonzero(~np.isin(t.subject, list(held)))[0]) for t, c in zip(files, cands, strict=True)]
            params = fit(parts_fit)
            for trials in files:
                test = np.nonzero(np.isin(trials.subject, list(held)))[0]
                if test.size:
                    report(f"subjects {','.join(sorted(held))} held out of fitting", trials, test,
                           evaluate(trials, test, params, args.placement))
    progress.done()
    for row in rows:
        if args.json:
            print(json.dumps(row))
            continue
        print(f"{row['file']} [{row['placement']}] {row['method']}: {row['trials']} trials, "
              f"{row['falls']} falls, {row['adl']} everyday activities")
        print("  " + "  ".join(_figure(k, row[k]) for k in KEYS))
        swept = {k: v for k, v in row.items() if k.startswith("sensitivity_at_")}
        if swept:
            print("  out of fold, thresholds swept: " + "  ".join(
                f"sensitivity {v * 100:.1f} % at specificity {k.rsplit('_', 1)[1]}" for k, v in swept.items()))
    return 0


# Units of the figures on a terminal; the JSON (--json) keeps plain numbers under the same keys.
_UNITS = {"false_alarms_per_hour_adl": "per hour of everyday activity", "latency_median_s": "s",
          "latency_p95_s": "s"}
_SHARES = ("sensitivity", "specificity", "detected_sensitivity", "detected_specificity")


def _figure(key: str, value: Any) -> str:
    if value is None:
        return f"{key} -"
    if key in _SHARES and isinstance(value, int | float):
        return f"{key} {value * 100:.1f} %"
    unit = _UNITS.get(key)
    return f"{key} {value} {unit}" if unit else f"{key} {value}"
