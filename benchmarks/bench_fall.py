"""Fall detector cost per sample per wearable, and replay throughput.

    .venv/bin/python benchmarks/bench_fall.py [--data ../shared/data/sisfall-young-50hz.npz] [--trials 600]

Feeds real trials in batches of 10 samples (as a BLE wearable sends them) to
the detector the daemon runs. Floor, measured in the same run on the same
batches: the least any detector must do, computing |a| of each batch with numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detection.events import AccelBatch, Stamp  # noqa: E402
from detection.fall import FallDetector, FallParams, FallWearable  # noqa: E402
from detection.fall.trials import load_trials  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "sisfall-young-50hz.npz")
    ap.add_argument("--trials", type=int, default=600, help="how many trials (spread over the file)")
    args = ap.parse_args()
    trials = load_trials(args.data)
    pick = np.linspace(0, len(trials) - 1, min(args.trials, len(trials))).astype(int)
    batches = []
    for i in pick:
        s = trials.samples(i)
        for k in range(0, len(s), 10):
            chunk = s[k:k + 10]
            t = (k + len(chunk) - 1) / trials.fs
            batches.append((i, AccelBatch(device="w", at=Stamp(t, t), fs=trials.fs, samples=chunk)))
    n_samples = sum(len(b.samples) for _, b in batches)
    params = FallParams.load()

    def detector_pass() -> float:
        t0 = time.perf_counter()
        det, current = None, -1
        for i, b in batches:
            if i != current:
                det, current = FallDetector({"w": FallWearable()}, params), i
            det.observe(b)
        return time.perf_counter() - t0

    def floor_pass() -> float:
        t0 = time.perf_counter()
        for _, b in batches:
            a = b.samples.astype(float)
            np.sqrt((a * a).sum(axis=1))
        return time.perf_counter() - t0

    runs = 3
    det_s = min(detector_pass() for _ in range(runs))
    floor_s = min(floor_pass() for _ in range(runs))
    seconds_of_data = n_samples / trials.fs
    result = {
        "samples": n_samples, "batches": len(batches), "trials": len(pick),
        "detector_us_per_sample": round(det_s / n_samples * 1e6, 2),
        "floor_us_per_sample": round(floor_s / n_samples * 1e6, 2),
        "ratio_to_floor": round(det_s / floor_s, 2),
        "replay_samples_per_s": round(n_samples / det_s),
        "replay_x_realtime_one_wearable": round(seconds_of_data / det_s),
        "wearables_at_50hz_per_core_at_100pct": round(1 / (det_s / n_samples * 50)),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
