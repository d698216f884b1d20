"""Fall detector cost per sample per wearable, and replay throughput.

    .venv/bin/python benchmarks/bench_fall.py [--data ../shared/data/sisfall-young-50hz.npz] [--trials 600]
    .venv/bin/python benchmarks/bench_fall.py --shifts --data ../shared/data/weda-fall-wrist-50hz.npz

Feeds real trials in batches of 10 samples (as a BLE wearable sends them) to
the detector the daemon runs. Floor, measured in the same run on the same
batches: the least any detector must do, computing |a| of each batch with numpy.

``--shifts`` instead replays every trial of the file, with the shipped
parameters, as other devices would deliver it: clipped at +-16/8/4/2 g,
resampled to 20/25/40/100 Hz, and in random batches (1-40 samples, one batch in
five arriving up to 2 s late or early, consecutive sequence numbers). One JSON
line per shift: emergency and detected sensitivity and specificity, as
``../shared/eval/score_fall.py`` counts them.
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
from detection.fall.trials import Trials, load_trials, raised_falls, recovered_falls  # noqa: E402


def as_device(x: np.ndarray, fs_in: float, fs: float, clip: float | None) -> np.ndarray:
    """``x`` as a device sampling at ``fs`` with range +-``clip`` g would record it."""
    if fs != fs_in:
        width = round(fs_in / fs)
        if width > 1:  # the device's own anti-aliasing, roughly
            kernel = np.ones(width) / width
            x = np.stack([np.convolve(x[:, j], kernel, mode="same") for j in range(3)], axis=1)
        t_in = np.arange(len(x)) / fs_in
        t_out = np.arange(0, t_in[-1], 1 / fs)
        x = np.stack([np.interp(t_out, t_in, x[:, j]) for j in range(3)], axis=1)
    return np.clip(x, -clip, clip) if clip else x


def shifts(trials: Trials) -> None:
    params = FallParams.load()
    falls = trials.is_fall
    cases: list[tuple[str, dict]] = [
        ("as recorded", {}), *((f"clipped at {c:g} g", {"clip": c}) for c in (16, 8, 4, 2)),
        *((f"{r:g} Hz", {"fs": r}) for r in (20.0, 25.0, 40.0, 100.0)),
        ("random batches, late/early by up to 2 s", {"jitter": True})]
    for name, case in cases:
        rng = np.random.default_rng(0)
        emergency, seen = np.zeros(len(trials), bool), np.zeros(len(trials), bool)
        for i in range(len(trials)):
            fs = case.get("fs", trials.fs)
            x = as_device(trials.samples(i).astype(float), trials.fs, fs, case.get("clip"))
            det = FallDetector({"w": FallWearable(str(trials.placement[i]))}, params)
            found, start, seq = [], 0, 0
            while start < len(x):
                n = int(rng.integers(1, 41)) if case.get("jitter") else 10
                chunk = x[start:start + n]
                start += len(chunk)
                t = (start - 1) / fs + (float(rng.uniform(-2, 2)) if case.get("jitter") and rng.random() < 0.2 else 0.0)
                found += det.observe(AccelBatch(device="w", at=Stamp(t, t), fs=fs, samples=chunk, seq=seq % 65536))
                seq += 1
            emergency[i] = bool(raised_falls(found))
            seen[i] = emergency[i] or bool(recovered_falls(found))
        print(json.dumps({"file": trials.name, "shift": name,
                          "sensitivity": round(float(emergency[falls].mean()), 4),
                          "specificity": round(1 - float(emergency[~falls].mean()), 4),
                          "detected_sensitivity": round(float(seen[falls].mean()), 4),
                          "detected_specificity": round(1 - float(seen[~falls].mean()), 4)}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "sisfall-young-50hz.npz")
    ap.add_argument("--trials", type=int, default=600, help="how many trials (spread over the file)")
    ap.add_argument("--shifts", action="store_true", help="accuracy under device shifts instead of cost")
    args = ap.parse_args()
    trials = load_trials(args.data)
    if args.shifts:
        shifts(trials)
        return 0
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
