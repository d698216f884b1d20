"""The status page of a hub with a week of history: how long it takes to serve, and the daemon's memory.

    .venv/bin/python benchmarks/bench_web.py [--loads 300] [--days 7]

A synthetic home (``carehub sim home DIR --days 7``) is replayed into the hub's
database before it starts (``tests/home_week.py``: its observations in the
journal, moved to end now, and what the home monitor learned from them as its
baseline), then the real daemon (its own process, real mosquitto, the page on)
serves a client that logs in with the setup code and loads, one after the
other: the status page (the person's day, the week's strips, devices, what was
learned), its refreshed glance part, and two floors measured in the same run:
a small page through the same templates (the test alarm page) and a static
file. Reports p50/p95/max of each, the first status page (which reads the
week's journal), and the daemon's RSS before and after.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import tomli_w

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.config import Config, to_data  # noqa: E402
from gateway.home_replay import home_config, read_events  # noqa: E402
from simulators.broker import Mosquitto, free_port  # noqa: E402
from tests.home_week import feed, simulate  # noqa: E402

TARGET_MS = 50.0
RSS_BUDGET_MB = 60.0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {"p50": round(pct(values_ms, 50), 2), "p95": round(pct(values_ms, 95), 2),
            "max": round(max(values_ms), 2), "mean": round(statistics.fmean(values_ms), 2), "n": len(values_ms)}


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[float, bytes]:
        t0 = time.perf_counter()
        with self.opener.open(self.base + path, timeout=30) as r:
            body = r.read()
        return (time.perf_counter() - t0) * 1000, body

    def log_in(self, code_file: Path) -> None:
        for _ in range(200):
            if code_file.exists():
                break
            time.sleep(0.1)
        _, page = self.get("/setup")
        token = re.search(r'name="csrf" value="([^"]+)"', page.decode())
        assert token is not None
        body = urllib.parse.urlencode({"csrf": token.group(1), "code": code_file.read_text().strip(),
                                       "password": "bench-password", "repeat": "bench-password"}).encode()
        with self.opener.open(self.base + "/setup", data=body, timeout=30) as r:
            assert b"Hub status" in r.read()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=300, help="status pages to load (and as many of each floor)")
    ap.add_argument("--days", type=int, default=7, help="days of the synthetic home replayed into the hub")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="carehub-bench-web-"))
    home = simulate(work / "home", days=args.days)
    db = work / "state" / "carehub.db"
    journalled = feed(home, db)
    devices = [to_data(d) for d in home_config(home, read_events(home), Config()).devices]
    with Mosquitto() as broker:
        cfg = {"site": {"id": "bench", "name": "Bench home"},
               "platform": {"host": "127.0.0.1", "port": broker.port, "boot_spread_s": 0.0},
               "storage": {"path": str(db)}, "rflink": {"enabled": False},
               "web": {"enabled": True, "bind": "127.0.0.1", "port": (port := free_port())},
               "logging": {"level": "warning"}, "devices": devices}
        (work / "carehub.toml").write_text(tomli_w.dumps(cfg))
        daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(work / "carehub.toml"),
                                   "--log-format", "json"], cwd=REPO, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            client = Client(f"http://127.0.0.1:{port}")
            for _ in range(100):
                try:
                    client.get("/static/app.css")
                    break
                except OSError:
                    time.sleep(0.1)
            client.log_in(db.parent / "web-setup-code")
            time.sleep(1.0)
            before = rss_mb(daemon.pid)
            first_ms, page = client.get("/status")
            assert b'class="strip"' in page, "the status page has no timeline"
            status_ms, glance_ms, small_ms, static_ms = [], [], [], []
            for _ in range(args.loads):
                status_ms.append(client.get("/status")[0])
                glance_ms.append(client.get("/status?part=glance")[0])
                small_ms.append(client.get("/alarm")[0])
                static_ms.append(client.get("/static/icon.svg")[0])
            after = rss_mb(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(timeout=20)
    status = summary(status_ms)
    result = {
        "home": {"days": args.days, "journal_rows": journalled, "page_bytes": len(page)},
        "status_page_ms": status, "first_status_page_ms": round(first_ms, 2),
        "glance_part_ms": summary(glance_ms),
        "floor_small_page_ms": summary(small_ms), "floor_static_file_ms": summary(static_ms),
        "status_over_small_page_p50": round(status["p50"] / max(0.01, pct(small_ms, 50)), 2),
        "daemon_rss_mb": {"after_login": round(before[0], 1), "after_loads": round(after[0], 1),
                          "peak": round(after[1], 1)},
        "targets": {"status_p95_le_50ms": status["p95"] <= TARGET_MS,
                    "rss_le_60mb": after[0] <= RSS_BUDGET_MB},
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
