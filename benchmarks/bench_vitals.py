"""Hub CPU for health watches streaming heart rate once a second (issue 17 target: < 0.1 % of a core each).

    .venv/bin/python benchmarks/bench_vitals.py [--seconds 30] [--watches 20]

The real daemon (its own process) with emulated SIG heart-rate watches on the
loopback radio, each notifying a Heart Rate Measurement (rate, contact, RR
interval) once a second, through the BLE driver, the health decoder, the
pipeline and journal, the vital-sign and wear detectors. One watch at 1 Hz is
below the resolution of /proc's CPU ticks, so ``--watches`` of them stream
together and the cost is divided. CPU is the daemon's user+system time over
the window; floor, same run: the same daemon with no wearables. Also, in this
process, the pure path alone (decode + detectors) per reading.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import tomli_w

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detection.events import Stamp  # noqa: E402
from detection.vitals import VitalsMonitor  # noqa: E402
from detection.worn import WearSupervisor  # noqa: E402
from drivers.ble.profiles.sig import HEART_RATE_MEASUREMENT, HeartRateDecoder  # noqa: E402
from simulators.broker import Mosquitto  # noqa: E402
from simulators.wearable import VirtualWearable, WearableEmulator  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def heart_rate(i: int) -> bytes:
    return bytes([0x16, 60 + i % 5]) + struct.pack("<H", 1000 + 10 * (i % 7))


def measure(work: Path, port: int, n: int, seconds: float) -> dict[str, float]:
    addresses = [f"C0:FF:EE:00:01:{i + 1:02X}" for i in range(n)]
    sock = work / f"ble-{n}.sock"
    emu = WearableEmulator(sock, [VirtualWearable(a, name="watch", seed=i) for i, a in enumerate(addresses)]).start()
    cfg = {
        "site": {"id": "bench"}, "platform": {"port": port},
        "storage": {"path": str(work / f"carehub-{n}.db")}, "logging": {"level": "warning"},
        "ble": {"enabled": n > 0, "emulator_socket": str(sock)},
        "wearables": [{"id": f"w{i}", "address": a, "profile": "heart_rate", "placement": "wrist"}
                      for i, a in enumerate(addresses)],
    }
    path = work / f"carehub-{n}.toml"
    path.write_text(tomli_w.dumps(cfg))
    daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(path),
                               "--log-format", "json"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    sent = [0]

    def stream() -> None:
        i = 0
        while not stop.wait(1.0):
            for a in addresses:
                emu.notify(a, HEART_RATE_MEASUREMENT, heart_rate(i))
            sent[0] += len(addresses)
            i += 1

    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    try:
        time.sleep(6.0)  # start-up and connections are not the steady state
        s0, c0, t0 = sent[0], cpu_s(daemon.pid), time.monotonic()
        time.sleep(seconds)
        s1, c1, t1 = sent[0], cpu_s(daemon.pid), time.monotonic()
        result = {"watches": n, "cpu_percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 3),
                  "readings_per_s": round((s1 - s0) / (t1 - t0), 1)}
    finally:
        stop.set()
        daemon.terminate()
        daemon.wait(15)
        emu.stop()
    # The proof that the readings reached the hub: its own journal of them.
    with sqlite3.connect(work / f"carehub-{n}.db") as db:
        result["readings_journaled"] = db.execute("SELECT COUNT(*) FROM journal WHERE kind = 'vital'").fetchone()[0]
    return result


def pure_us_per_reading(n: int = 100_000) -> float:
    decoder, vitals, wear = HeartRateDecoder("w0"), VitalsMonitor(), WearSupervisor(["w0"])
    start = time.perf_counter()
    for i in range(n):
        for obs in decoder.decode(HEART_RATE_MEASUREMENT, heart_rate(i), Stamp(float(i), 1.7e9 + i)):
            vitals.observe(obs)
            wear.observe(obs)
    return (time.perf_counter() - start) / n * 1e6


def pure_us_per_accel_batch(n: int = 20_000) -> float:
    """The same detectors on a 50 Hz wearable's 10-sample accelerometer batches (rest, movement, worn)."""
    import numpy as np

    from detection.events import AccelBatch

    vitals, wear = VitalsMonitor(), WearSupervisor(["p"])
    rng = np.random.default_rng(0)
    batches = [AccelBatch(device="p", at=Stamp(i * 0.2, 1.7e9 + i * 0.2), fs=50.0,
                          samples=np.array([0, 0, 1.0]) + rng.normal(0, 0.02, (10, 3))) for i in range(n)]
    start = time.perf_counter()
    for b in batches:
        vitals.observe(b)
        wear.observe(b)
    return (time.perf_counter() - start) / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--watches", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="carehub-vitals-bench-"))
    with Mosquitto() as broker:
        floor = measure(work, broker.port, 0, args.seconds)
        loaded = measure(work, broker.port, args.watches, args.seconds)
    extra = loaded["cpu_percent_of_one_core"] - floor["cpu_percent_of_one_core"]
    pure = pure_us_per_reading()
    print(json.dumps({"floor_no_wearables": floor, "watches_streaming": loaded,
                      "cpu_percent_per_watch_at_1_hz": round(extra / args.watches, 4),
                      "us_per_reading_whole_path": round(extra / 100 / max(1.0, loaded["readings_per_s"]) * 1e6, 1),
                      "us_per_reading_decode_and_detectors": round(pure, 1),
                      "us_per_accel_batch_of_10_detectors": round(pure_us_per_accel_batch(), 1),
                      "target_percent_per_watch": 0.1}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
