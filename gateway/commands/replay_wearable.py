"""``carehub replay wearable TRIALS.npz``: each trial through the daemon's own detectors.

Each trial is fed in batches of 10 samples, as a BLE wearable sends them, to
detectors built by ``gateway.detectors.build_detectors`` from the config (the
given one, or the defaults) with one wearable added for the trial. One JSON
line per trial: the falls raised and not cancelled by a recovery within the
recording, with the time they were raised (the decision) and the impact.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("trials", type=Path, help="accelerometer trials (.npz, format A)")
    p.add_argument("--placement", choices=("waist", "neck", "wrist"),
                   help="where the sensor was worn (default: the file's placement column)")
    p.add_argument("--config", type=Path, help="config file whose detection settings to use (default: defaults)")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from detection.events import FindingState
    from gateway.commands.config_check import config_or_defaults
    from gateway.config.schema import WearableConfig
    from gateway.detectors import build_detectors
    from gateway.fall_training import BATCH, load_trials, replay

    base = config_or_defaults(args.config)
    if base is None:
        return 2
    try:
        trials = load_trials(args.trials)
    except (OSError, ValueError, KeyError) as exc:
        print(f"carehub replay wearable: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    for i in range(len(trials)):
        placement = args.placement or str(trials.placement[i])
        wearable = WearableConfig(id="trial", address="00:00:00:00:00:00", placement=placement)  # type: ignore[arg-type]
        cfg = replace(base, wearables=[wearable])
        findings = []
        for det in build_detectors(cfg):
            if det.name == "fall":
                findings = replay(det, "trial", trials.samples(i), trials.fs, BATCH)  # type: ignore[arg-type]
        cancelled = {f.key for f in findings if f.state is FindingState.CANCELLED}
        alerts = [
            {"type": "fall", "t": round(f.at.t, 3), "impact_t": round(float(f.evidence["impact_t"]), 3),
             "score": float(f.evidence["score"])}
            for f in findings if f.state is FindingState.RAISED and f.key not in cancelled
        ]
        out.write(json.dumps({"trial": str(trials.trial[i]), "alerts": alerts}) + "\n")
    return 0
