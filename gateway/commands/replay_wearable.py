"""``carehub replay wearable TRIALS.npz``: each trial through the daemon's own detectors.

Each trial is fed in batches of 10 samples, as a BLE wearable sends them, to
detectors built by ``gateway.detectors.build_detectors`` from the config (the
given one, or the defaults) with one wearable added for the trial. One JSON
line per trial: ``alerts``, the falls raised as emergencies, with the time they
were raised (the decision) and the impact; ``recovered``, with the same fields,
the falls raised and then recovered from within the recording (the wearer got
up and walked: an urgent alert, still a fall, see docs/alerts.md).
``../shared/eval/score_fall.py`` scores both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from detection.events import Finding


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("trials", type=Path, help="accelerometer trials (.npz, format A)")
    p.add_argument("--placement", choices=("waist", "neck", "wrist"),
                   help="where the sensor was worn (default: the file's placement column)")
    p.add_argument("--config", type=Path, help="config file whose detection settings to use (default: defaults)")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from detection.fall.trials import BATCH, load_trials, raised_falls, recovered_falls, replay
    from gateway.commands.config_check import config_or_defaults
    from gateway.commands.progress import Progress
    from gateway.config.schema import WearableConfig
    from gateway.detectors import build_detectors

    base = config_or_defaults(args.config)
    if base is None:
        return 2
    try:
        trials = load_trials(args.trials)
    except (OSError, ValueError, KeyError) as exc:
        print(f"carehub replay wearable: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    progress = Progress(f"replay wearable {args.trials.name}", len(trials), "trials")
    for i in progress.over(range(len(trials))):
        placement = args.placement or str(trials.placement[i])
        wearable = WearableConfig(id="trial", address="00:00:00:00:00:00", placement=placement)  # type: ignore[arg-type]
        cfg = replace(base, wearables=[wearable])
        findings: list[Finding] = []
        for det in build_detectors(cfg):
            if det.name == "fall":
                findings = replay(det, "trial", trials.samples(i), trials.fs, BATCH)  # type: ignore[arg-type]
        def fields(f: Finding) -> dict[str, object]:
            return {"type": "fall", "t": round(f.at.t, 3), "impact_t": round(float(f.evidence["impact_t"]), 3),
                    "score": float(f.evidence["score"])}

        out.write(json.dumps({"trial": str(trials.trial[i]), "alerts": [fields(f) for f in raised_falls(findings)],
                              "recovered": [fields(f) for f in recovered_falls(findings)]}) + "\n")
    return 0
