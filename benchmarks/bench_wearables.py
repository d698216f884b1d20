"""Hub CPU and memory with 3 wearables streaming 50 Hz batches through the driver and fall detector.

    .venv/bin/python benchmarks/bench_wearables.py [--seconds 30]

The real daemon (its own process) with three emulated carehub-profile
wearables on the loopback radio, each streaming 10-sample batches at 50 Hz
(5 notifications/s). CPU is the daemon's user+system time over the window
(/proc/PID/stat), memory its RSS. Floor, same run: the same daemon with no
wearables over an equal window.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators.broker import Mosquitto  # noqa: E402
from simulators.wearable import VirtualWearable, WearableEmulator  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(work: Path, port: int, n_wearables: int, seconds: float) -> dict[str, float]:
    addresses = [f"C0:FF:EE:00:00:{i + 1:02X}" for i in range(n_wearables)]
    sock = work / f"ble-{n_wearables}.sock"
    emu = WearableEmulator(sock, [VirtualWearable(a, seed=i) for i, a in enumerate(addresses)]).start()
    cfg = {
        "site": {"id": "bench"}, "platform": {"port": port},
        "storage": {"path": str(work / f"carehub-{n_wearables}.db")}, "logging": {"level": "warning"},
        "ble": {"enabled": n_wearables > 0, "emulator_socket": str(sock)},
        "wearables": [{"id": f"w{i}", "address": a, "profile": "carehub", "placement": "waist"}
                      for i, a in enumerate(addresses)],
    }
    path = work / f"carehub-{n_wearables}.toml"
    path.write_text(tomli_w.dumps(cfg))
    daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(path),
                               "--log-format", "json"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(6.0)  # start-up and connections are not the steady state
        sent0 = sum(w.sent_batches for w in emu.wearables.values())
        c0, t0 = cpu_s(daemon.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_s(daemon.pid), time.monotonic()
        sent = sum(w.sent_batches for w in emu.wearables.values()) - sent0
        return {"wearables": n_wearables, "cpu_percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 2),
                "rss_mb": round(rss_mb(daemon.pid), 1), "batches_per_s": round(sent / (t1 - t0), 1),
                "samples_per_s": round(10 * sent / (t1 - t0))}
    finally:
        daemon.terminate()
        daemon.wait(15)
        emu.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="carehub-ble-bench-"))
    with Mosquitto() as broker:
        floor = measure(work, broker.port, 0, args.seconds)
        loaded = measure(work, broker.port, 3, args.seconds)
    extra = loaded["cpu_percent_of_one_core"] - floor["cpu_percent_of_one_core"]
    print(json.dumps({"floor_no_wearables": floor, "three_wearables": loaded,
                      "cpu_percent_per_wearable": round(extra / 3, 2),
                      "us_per_sample_including_radio_path": round(
                          extra / 100 / max(1, loaded["samples_per_s"]) * 1e6, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
