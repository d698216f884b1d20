"""Home monitoring: replay throughput of a month of events through the daemon's detectors.

    .venv/bin/python benchmarks/bench_home.py [--days 30]

A synthetic 30-day home (simulators/home.py) is replayed with a Tick every
30 s. Floor, same run: just reading and parsing the same events.csv.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.config import Config  # noqa: E402
from gateway.home_replay import detectors_for, raised, read_events, run, timeline  # noqa: E402
from simulators.home import generate, write_format_b  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="carehub-home-bench-"))
    events, acts = generate(args.days, seed=11)
    write_format_b(folder, events, acts)

    t0 = time.perf_counter()
    for _ in range(3):
        parsed = read_events(folder)
    floor = (time.perf_counter() - t0) / 3

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        parsed = read_events(folder)
        n = sum(1 for _ in raised(run(detectors_for(folder, parsed, Config()), timeline(parsed, parsed[-1].local))))
        best = min(best, time.perf_counter() - t0)
    ticks = int((parsed[-1].local - parsed[0].local) / 30)
    print(json.dumps({"days": args.days, "events": len(parsed), "ticks": ticks, "alerts": n,
                      "replay_s": round(best, 3), "floor_read_csv_s": round(floor, 3),
                      "ratio_to_floor": round(best / floor, 1),
                      "days_per_second": round(args.days / best, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
