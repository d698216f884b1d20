"""A district power cut for N hubs, without and with the boot spread (docs/fleet.md, issue 16 item 5).

    .venv/bin/python benchmarks/bench_fleet.py [--hubs 1000 5000] [--window 120]

Runs ``carehub sim fleet --compare`` for each N: the real uplink, outbox and alert
policy of every hub in this one process, against a real mosquitto on a free
loopback port, two platform emulators sharing the alerts. Prints one line per run
and the issue's targets: 0 alerts lost, 0 duplicated by id, the busiest second's
connection rate with the spread at most 1/10 of the rate without it, every hub
connected within the window. The machine's load average before and after each run
is in the JSON, because the figures depend on what else the machine was doing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.commands.sim_fleet import compare  # noqa: E402


def line(run: dict[str, object]) -> str:
    e = run["emergency_acknowledged_s"] or {}
    return (f"  {'spread' if run['jitter'] else 'none  '}  window {run['window_s']:>5} s  "
            f"peak {run['peak_connect_rate_broker']:>7} conn/s (broker) {run['peak_connect_rate_hubs']:>5} (hubs) "
            f"{run.get('peak_online_rate_platform')} (platform)  "
            f"last hub {run['last_connected_s']:>6} s  all acked {run['time_to_all_acknowledged_s']:>6} s  "
            f"help calls acked max {e.get('max')} s  lost {run['lost']}  dup {run['duplicates_by_id']}  "
            f"broker RSS {run.get('broker_peak_rss_mib')} MiB  load {run['load_before']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hubs", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--window", type=float, default=120.0)
    ap.add_argument("--json", type=Path, help="also write every report to this file")
    args = ap.parse_args()
    reports = []
    ok = True
    for n in args.hubs:
        r = compare(n, window_s=args.window, say=lambda s: print(f"  {s}", file=sys.stderr, flush=True))
        reports.append(r)
        print(f"{n} hubs:")
        print(line(r["without_jitter"]))
        print(line(r["with_jitter"]))
        print(f"  peak ratio {r['peak_ratio_platform']} (platform) {r['peak_ratio_broker']} (broker $SYS) "
              f"{r['peak_ratio_hubs']} (hubs); "
              f"targets {'met' if r['targets_met'] else 'MISSED'}", flush=True)
        ok = ok and bool(r["targets_met"])
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
