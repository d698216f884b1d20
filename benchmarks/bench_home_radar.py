"""What presence radars change, like for like: the same person, the same collapse moments, with and without.

    .venv/bin/python benchmarks/bench_home_radar.py --kind motion --seed 1 [--n 40] [--days 30]

The judges' scorer (``../shared/eval/score_home.py``) draws its collapse moments among a
home's events, so a home with radars (more events) and the same home without them are
scored on different moments. Here both versions of one synthetic home
(``simulators/home.py``, ``generate(radars=...)``: the radars draw nothing from the
random stream, so the person's days are the same) get the same moments: drawn as the
scorer draws them (``random.Random(seed)``, after 7 days of learning, 08:00-21:00, outside
sleep and outings, at least 12 h before the end) among the events the two share; every
later event is removed from each (the radar of the room goes on saying "someone"), and
each is replayed to 12 h after. Prints one JSON object per version.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.config import Config  # noqa: E402
from gateway.home_replay import detectors_for, parse_ts, raised, read_events, run, timeline  # noqa: E402
from simulators.home import generate, write_format_b  # noqa: E402

SEVERE = ("urgent", "emergency")
SLEEP_OR_AWAY = re.compile(r"sleep|bed|go_to_bed|go to bed|leav|away|out|enter_home", re.I)  # the scorer's


def _blocked(folder: Path) -> list[tuple[float, float]]:
    with (folder / "activities.csv").open(newline="") as f:
        return [(parse_ts(r["start"]), parse_ts(r["end"])) for r in csv.DictReader(f)
                if SLEEP_OR_AWAY.search(r["activity"])]


def _severe(folder: Path, events: list, until: float) -> list:  # type: ignore[type-arg]
    found = raised(run(detectors_for(folder, events, Config()), timeline(events, until)))
    return [f for f in found if f.severity.value in SEVERE]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", default="motion")
    ap.add_argument("--seed", type=int, default=1, help="the home's seed")
    ap.add_argument("--draw", type=int, default=7, help="seed of the draw of moments (the scorer's --seed)")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="carehub-radar-paired-"))
    homes = {}
    for radars in (False, True):
        evs, acts = generate(args.days, args.seed, kind=args.kind, radars=radars)
        folder = root / ("radars" if radars else "without")
        write_format_b(folder, evs, acts, kind=args.kind, radars=radars)
        homes[radars] = (folder, read_events(folder))
    shared = homes[False][1]
    first, last = shared[0].local, shared[-1].local
    scored_from = first + 7 * 86400
    blocked = _blocked(homes[False][0])

    def allowed(t: float) -> bool:
        return (scored_from <= t <= last - 12 * 3600 and 8 <= int(t % 86400 // 3600) < 21
                and not any(s <= t <= e for s, e in blocked))

    cands = [i for i, e in enumerate(shared) if allowed(e.local)]
    moments = [shared[i] for i in sorted(random.Random(args.draw).sample(cands, min(args.n, len(cands))))]
    for radars, (folder, events) in homes.items():
        false = [f for f in _severe(folder, events, events[-1].local) if scored_from <= f.at.local <= last]
        delays: list[float] = []
        rooms: list[str] = []
        for m in moments:
            kept = [e for e in events if e.local <= m.local]
            hit = next((f for f in _severe(folder, kept, m.local + 12 * 3600) if int(f.at.local) > m.local), None)
            delays.append((int(hit.at.local) - m.local) / 60 if hit is not None else float("inf"))
            rooms.append(m.room)
        bath = [d for d, r in zip(delays, rooms, strict=True) if r == "bathroom"]
        n = len(delays)
        print(json.dumps({
            "home": f"{args.kind}-{args.seed}", "radars": radars, "injected": n,
            "detected_1h": round(sum(d <= 60 for d in delays) / n, 3),
            "detected_4h": round(sum(d <= 240 for d in delays) / n, 3),
            "median_delay_min": round(statistics.median(delays), 1),
            "bathroom_injected": len(bath),
            "bathroom_median_delay_min": round(statistics.median(bath), 1) if bath else None,
            "never_raised": sum(d == float("inf") for d in delays),
            "false_alarms_per_30d": round(len(false) / max((last - scored_from) / 86400, 1e-9) * 30, 2),
        }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
