"""A replayed week of a synthetic home, fed to a hub's database before it starts.

``carehub sim home DIR --days 7`` writes the log; ``feed(DIR, db)`` moves it to
end today (whole days, so every sign of life keeps its time of day; what lies
after the present time of day is dropped), writes its observations into the
journal as the pipeline would have, and saves what the home monitor learned
from it as the hub's baseline (as ``carehub replay home --state-db`` does). The
hub that then starts on that database shows the week on its status page. Used
by the browser test and ``benchmarks/bench_web.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gateway.config import Config
from gateway.home_replay import detectors_for, device_id, read_events, timeline
from gateway.home_replay import run as replay
from gateway.store import Store

REPO = Path(__file__).resolve().parents[1]


def simulate(folder: Path, days: int = 7, seed: int = 1) -> Path:
    subprocess.run([sys.executable, "-m", "gateway.cli", "sim", "home", str(folder), "--days", str(days),
                    "--seed", str(seed)], check=True, cwd=REPO, capture_output=True)
    return folder


def journal_rows(folder: Path, now: float | None = None) -> list[tuple[float, str, str, str | None, dict[str, Any]]]:
    """The log's events as journal rows, its last day moved to today (local time), none after now."""
    now = time.time() if now is None else now
    events = read_events(folder)
    lt = time.localtime(now)
    last = time.gmtime(events[-1].local)  # the log's times are local times written as if UTC
    shift_days = (time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 12, 0, 0, 0, 0, -1))
                  - time.mktime((last.tm_year, last.tm_mon, last.tm_mday, 12, 0, 0, 0, 0, -1))) // 86400
    rows: list[tuple[float, str, str, str | None, dict[str, Any]]] = []
    for e in events:
        wall = time.mktime(time.gmtime(e.local + shift_days * 86400))  # the same clock time, in this zone
        if wall > now:
            break
        kind = "motion" if e.kind == "motion" else e.kind
        rows.append((wall, device_id(e.sensor), kind, e.room, {"active": bool(e.state)}))
    return rows


def feed(folder: Path, db_path: Path, now: float | None = None) -> int:
    """Journal and learned baseline of the week into the hub's database; the number of rows journalled."""
    rows = journal_rows(folder, now)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db_path)
    try:
        store.journal_append(rows)
        events = read_events(folder)
        detectors = detectors_for(folder, events, Config())
        for _ in replay(detectors, timeline(events, events[-1].local + 60)):
            pass
        for det in detectors:
            if det.name == "home" and (snap := det.snapshot()) is not None:
                store.save_baseline(det.name, snap)
    finally:
        store.close()
    return len(rows)
