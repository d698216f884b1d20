"""Hub CPU and memory with the issue-15 drivers at realistic rates, against the daemon's floor.

    .venv/bin/python benchmarks/bench_sensors.py [--seconds 30]

The real daemon (its own process), one run per phase, each against a fresh
daemon on the same mosquitto:

- floor: no sensors at all;
- radar: two LD2410s on ptys reporting ten frames a second each (what the
  module sends), and one MR60FDA2 reporting its people and fall frames once a
  second; the scene changes every 2 s, so presence observations are emitted too;
- zigbee2mqtt: 20 Zigbee devices on a second broker, 5 state messages a second
  in all (a busy home; real ones send far fewer);
- rtl433: ``rtl_433 -F json`` emulated as the daemon's child process, four
  radio bursts a second of two copies each (8 lines a second).

CPU is the daemon's own user+system time over the window (/proc/PID/stat; the
emulators and rtl_433's child process are not counted), memory its RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators.broker import Mosquitto  # noqa: E402
from simulators.radar import RadarEmulator  # noqa: E402
from simulators.zigbee2mqtt import Zigbee2MqttEmulator  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_phase(work: Path, name: str, cfg: dict[str, Any], seconds: float,
              drive: Callable[[threading.Event], None] | None = None) -> dict[str, Any]:
    path = work / f"{name}.toml"
    path.write_text(tomli_w.dumps(cfg))
    daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(path),
                               "--log-format", "json"], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    stop = threading.Event()
    driver = threading.Thread(target=drive, args=(stop,), daemon=True) if drive else None
    try:
        time.sleep(6.0)  # start-up and connections are not the steady state
        if driver:
            driver.start()
            time.sleep(2.0)
        c0, t0 = cpu_s(daemon.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_s(daemon.pid), time.monotonic()
        return {"phase": name, "cpu_percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 2),
                "rss_mb": round(rss_mb(daemon.pid), 1)}
    finally:
        stop.set()
        if driver:
            driver.join(10)
        daemon.terminate()
        daemon.wait(15)


def base_cfg(work: Path, name: str, port: int) -> dict[str, Any]:
    return {"site": {"id": "bench"}, "platform": {"port": port}, "web": {"enabled": False},
            "storage": {"path": str(work / f"{name}.db")}, "logging": {"level": "warning"}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--phases", default="radar,zigbee2mqtt,rtl433", help="which of radar,zigbee2mqtt,rtl433 to run")
    args = ap.parse_args()
    phases = set(args.phases.split(","))
    work = Path(tempfile.mkdtemp(prefix="carehub-sensors-bench-"))
    out: dict[str, Any] = {}
    with Mosquitto() as broker, Mosquitto() as zbroker:
        out["floor"] = run_phase(work, "floor", base_cfg(work, "floor", broker.port), args.seconds)

        if "radar" in phases:
            run_radar(work, broker.port, args.seconds, out)
        if "zigbee2mqtt" in phases:
            run_zigbee(work, broker.port, zbroker.port, args.seconds, out)
        if "rtl433" in phases:
            run_rtl433(work, broker.port, args.seconds, out)
    floor = out["floor"]["cpu_percent_of_one_core"]
    for k in ("radar", "zigbee2mqtt", "rtl433"):
        if k in out:
            out[k]["cpu_above_floor"] = round(out[k]["cpu_percent_of_one_core"] - floor, 2)
            out[k]["rss_above_floor_mb"] = round(out[k]["rss_mb"] - out["floor"]["rss_mb"], 1)
    print(json.dumps(out, indent=2))
    return 0


def run_radar(work: Path, port: int, seconds: float, out: dict[str, Any]) -> None:
    radars = [RadarEmulator(work / "ld2410-a", "ld2410").start(),
              RadarEmulator(work / "ld2410-b", "ld2410").start(),
              RadarEmulator(work / "mr60fda2", "mr60fda2").start()]
    cfg = base_cfg(work, "radar", port) | {"radars": [
        {"id": "radar-bed", "model": "ld2410", "port": str(radars[0].link), "room": "bedroom"},
        {"id": "radar-living", "model": "ld2410", "port": str(radars[1].link), "room": "living"},
        {"id": "radar-bath", "model": "mr60fda2", "port": str(radars[2].link), "room": "bathroom"}]}

    def scenes(stop: threading.Event) -> None:
        k = 0
        while not stop.wait(2.0):
            k += 1
            for r in radars:
                r.set(state=("moving", "still", "none")[k % 3], distance_m=1.0 + (k % 4) * 0.6)

    sent0 = sum(r.sent_frames for r in radars)
    out["radar"] = run_phase(work, "radar", cfg, seconds, scenes)
    out["radar"]["frames_per_s"] = round((sum(r.sent_frames for r in radars) - sent0) / (seconds + 10), 1)
    for r in radars:
        r.stop()


def run_zigbee(work: Path, port: int, zport: int, seconds: float, out: dict[str, Any]) -> None:
    names = [f"sensor {i}" for i in range(20)]
    kinds = ["pir", "door", "bed", "presence"]
    cfg = base_cfg(work, "zigbee", port) | {
        "zigbee2mqtt": {"enabled": True, "port": zport},
        "zigbee_devices": [{"id": f"zb{i}", "friendly_name": n, "kind": kinds[i % 4]} for i, n in enumerate(names)]}
    z2m = Zigbee2MqttEmulator("127.0.0.1", zport).start()
    for i, n in enumerate(names):
        z2m.add(n, kinds[i % 4])
    events = {"pir": ("motion", "no_motion"), "door": ("open", "close"), "bed": ("in_bed", "out_of_bed"),
              "presence": ("present", "absent")}

    def zigbee_traffic(stop: threading.Event) -> None:
        k = 0
        while not stop.wait(0.2):  # 5 messages a second
            k += 1
            n = names[k % len(names)]
            z2m.event(n, events[kinds[k % len(names) % 4]][(k // len(names)) % 2])

    out["zigbee2mqtt"] = run_phase(work, "zigbee", cfg, seconds, zigbee_traffic)
    out["zigbee2mqtt"]["messages_per_s"] = 5
    z2m.stop()


def run_rtl433(work: Path, port: int, seconds: float, out: dict[str, Any]) -> None:
    steps = []
    for _ in range(int((seconds + 20) * 2)):  # 2 bursts (4 lines) a second
        steps += ["--step", "0.25:kerui_motion", "--step", "0.25:honeywell_open"]
    cfg = base_cfg(work, "rtl433", port) | {
        "rtl433": {"enabled": True, "command": [sys.executable, "-m", "gateway.cli", "sim", "rtl433", *steps]},
        "rtl433_devices": [{"id": "pir-433", "model": "Kerui-Security", "address": "840811", "kind": "pir"},
                           {"id": "door-433", "model": "Honeywell-Security", "address": "123456",
                            "kind": "door"}]}
    out["rtl433"] = run_phase(work, "rtl433", cfg, seconds)
    out["rtl433"]["lines_per_s"] = 8


if __name__ == "__main__":
    sys.exit(main())
