"""Help-button latency: RFLink line written to the pty -> alert received at the broker.

    .venv/bin/python benchmarks/bench_spine.py [--presses 500]

Runs a real mosquitto, the real daemon (its own process), the pty RFLink
emulator and a subscriber that acknowledges every alert like the platform
would. Presses rotate over 50 SOS buttons so that none is folded into a
previous one (same button within the repeat window) and each becomes its own
alert. In the same run it measures the floor: a raw pty write -> read, plus a
raw paho QoS 1 publish -> receive through the same broker. Reports p50/p99/max
of both, the ratio, and the daemon's RSS.

With ``--web`` the technician's page is on, and during the presses a browser-
like client keeps the live event stream open and loads the status page and a
static file back to back without pause (far more than a technician on a phone):
the help-call latency must not suffer, and the page's own times are reported
against the static file as their floor.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty
import urllib.parse
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import tomli_w
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators.broker import Mosquitto, free_port  # noqa: E402
from simulators.rflink import RadioCode, RflinkEmulator  # noqa: E402

BUTTONS = 50
GAP_S = 0.05


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {"p50": round(pct(values_ms, 50), 3), "p99": round(pct(values_ms, 99), 3),
            "max": round(max(values_ms), 3), "mean": round(statistics.fmean(values_ms), 3), "n": len(values_ms)}


def pty_floor(n: int) -> list[float]:
    master, slave = os.openpty()
    tty.setraw(slave)
    out = []
    line = b"20;01;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;\r\n"
    for _ in range(n):
        t0 = time.perf_counter()
        os.write(master, line)
        got = b""
        while not got.endswith(b"\n"):
            select.select([slave], [], [], 1)
            got += os.read(slave, 256)
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.002)
    os.close(master)
    os.close(slave)
    return out


def mqtt_floor(port: int, n: int) -> list[float]:
    got = threading.Event()
    recv: list[float] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="floor-sub", protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: (recv.append(time.perf_counter()), got.set())
    sub.connect("127.0.0.1", port)
    sub.subscribe("floor/t", qos=1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="floor-pub", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    time.sleep(0.5)
    out = []
    for _ in range(n):
        got.clear()
        t0 = time.perf_counter()
        pub.publish("floor/t", b'{"x":1}', qos=1)
        if got.wait(2):
            out.append((recv[-1] - t0) * 1000)
        time.sleep(0.002)
    sub.loop_stop()
    pub.loop_stop()
    return out


class PageLoad(threading.Thread):
    """Logs in with the setup code, holds /events open, and loads /status and a static file in a loop."""

    def __init__(self, base: str, code_file: Path) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.code_file = code_file
        self.stop = threading.Event()
        self.status_ms: list[float] = []
        self.static_ms: list[float] = []
        self.events = 0
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _get(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=10) as r:
            return r.read()

    def log_in(self) -> None:
        for _ in range(100):
            if self.code_file.exists():
                break
            time.sleep(0.1)
        page = self._get("/setup").decode()
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf": token, "code": self.code_file.read_text().strip(),
                                       "password": "bench-password", "repeat": "bench-password"}).encode()
        with self.opener.open(self.base + "/setup", data=body, timeout=10) as r:
            assert b"Hub status" in r.read()

    def _stream(self) -> None:
        with self.opener.open(self.base + "/events", timeout=60) as r:
            for line in r:
                if line.startswith(b"data: "):
                    self.events += 1
                if self.stop.is_set():
                    return

    def run(self) -> None:
        threading.Thread(target=self._stream, daemon=True).start()
        while not self.stop.is_set():
            t0 = time.perf_counter()
            self._get("/status")
            t1 = time.perf_counter()
            self._get("/static/app.css")
            t2 = time.perf_counter()
            self.status_ms.append((t1 - t0) * 1000)
            self.static_ms.append((t2 - t1) * 1000)


def rss_kb(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=500)
    ap.add_argument("--web", action="store_true", help="technician's page on, and loaded, during the presses")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="carehub-bench-"))
    devices = [{"id": f"sos-{i}", "protocol": "EV1527", "address": f"{0xA00000 + i:06x}", "switch": "01",
                "kind": "sos", "room": "bedroom"} for i in range(BUTTONS)]
    codes = {d["id"]: RadioCode(d["protocol"], d["address"], d["switch"]) for d in devices}
    with Mosquitto() as broker:
        emu = RflinkEmulator(work / "rflink").start()
        cfg = {"site": {"id": "bench"}, "platform": {"host": "127.0.0.1", "port": broker.port},
               "storage": {"path": str(work / "carehub.db")},
               "rflink": {"enabled": True, "port": str(emu.link)},
               "web": {"enabled": args.web, "bind": "127.0.0.1", "port": (web_port := free_port())},
               "logging": {"level": "warning"},
               "devices": devices}
        (work / "carehub.toml").write_text(tomli_w.dumps(cfg))
        daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(work / "carehub.toml"),
                                   "--log-format", "json"], cwd=REPO, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        received: dict[str, float] = {}
        cond = threading.Condition()

        def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
            now = time.perf_counter()
            if m.topic.endswith("/status"):
                with cond:
                    received["__online"] = now if m.payload == b"online" else 0
                    cond.notify_all()
                return
            alert = json.loads(m.payload)
            if alert["state"] == "open" and alert["level"] == 0:
                with cond:
                    received[alert["device"] + "#" + str(alert["seq"])] = now
                    cond.notify_all()
                # Acknowledge on a separate connection, as a platform's back end would:
                # the receiving socket then carries only what it receives.
                acker.publish(f"carehub/v1/bench/alert/{alert['id']}/ack", b"{}", qos=1)

        acker = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-acker", protocol=mqtt.MQTTv5)
        acker.connect("127.0.0.1", broker.port)
        acker.loop_start()
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-platform", protocol=mqtt.MQTTv5)
        sub.on_message = on_message
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe([("carehub/v1/bench/alert", 1), ("carehub/v1/bench/status", 1)])
        sub.loop_start()
        with cond:
            cond.wait_for(lambda: received.get("__online"), timeout=30)
        time.sleep(1.0)
        load = None
        if args.web:
            load = PageLoad(f"http://127.0.0.1:{web_port}", work / "web-setup-code")
            load.log_in()
            load.start()
            time.sleep(1.0)

        latencies = []
        for i in range(args.presses):
            dev = devices[i % BUTTONS]["id"]
            before = len(received)
            t0 = time.perf_counter()
            emu.frame(codes[dev], "ON")
            with cond:
                ok = cond.wait_for(lambda before=before: len(received) > before, timeout=5)
            if ok:
                latest = max(v for k, v in received.items() if k != "__online")
                latencies.append((latest - t0) * 1000)
            time.sleep(GAP_S)
        rss, hwm = rss_kb(daemon.pid)
        if load is not None:
            load.stop.set()
            load.join(15)
        daemon.terminate()
        daemon.wait(15)
        sub.loop_stop()
        acker.loop_stop()
        emu.stop()
        floor_pty = pty_floor(args.presses)
        floor_mqtt = mqtt_floor(broker.port, args.presses)

    lat = summary(latencies)
    fp, fm = summary(floor_pty), summary(floor_mqtt)
    floor = {k: round(fp[k] + fm[k], 3) for k in ("p50", "p99", "max")}
    result = {
        "presses": args.presses, "delivered": len(latencies),
        "latency_ms": lat, "floor_pty_ms": fp, "floor_mqtt_ms": fm, "floor_sum_ms": floor,
        "ratio_p99_to_floor": round(lat["p99"] / floor["p99"], 2) if floor["p99"] else None,
        "daemon_rss_mb": round(rss / 1024, 1), "daemon_peak_rss_mb": round(hwm / 1024, 1),
        "cpu": os.cpu_count(),
    }
    if load is not None:
        result["web"] = {"status_page_ms": summary(load.status_ms), "static_file_floor_ms": summary(load.static_ms),
                         "live_events_received": load.events}
    print(json.dumps(result, indent=2))
    return 0 if len(latencies) == args.presses else 1


if __name__ == "__main__":
    sys.exit(main())
