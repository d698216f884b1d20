"""``carehub replay vitals FILE.jsonl``: a vital-signs recording through the daemon's own detectors.

The recording's format is in ``gateway/vitals_replay.py`` (and docs/vitals.md).
Prints one JSON line per finding of the vital-sign and wear detectors: ts
(local), type, severity, state, device, evidence. Lines that are not
observations are skipped and counted; the first few are named on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SHOWN_ERRORS = 5


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", type=Path, help="JSON lines, one observation each")
    p.add_argument("--config", type=Path, help="config whose detection settings and wearables to use "
                   "(default: defaults; devices it does not name are added)")


def run(args: argparse.Namespace) -> int:
    from gateway.commands.config_check import config_or_defaults
    from gateway.vitals_replay import finding_line, read, replay, with_devices

    base = config_or_defaults(args.config)
    if base is None:
        return 2
    try:
        with args.recording.open(encoding="utf-8", errors="replace") as f:
            rec = read(f)
    except OSError as exc:
        print(f"carehub replay vitals: {exc}", file=sys.stderr)
        return 2
    for n, why in rec.errors[:SHOWN_ERRORS]:
        print(f"carehub replay vitals: line {n} skipped: {why}", file=sys.stderr)
    if rec.errors:
        print(f"carehub replay vitals: {len(rec.errors)} lines skipped", file=sys.stderr)
    out = sys.stdout
    for finding in replay(with_devices(base, rec), rec.observations):
        out.write(json.dumps(finding_line(finding)) + "\n")
    return 0
