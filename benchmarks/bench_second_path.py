"""How soon a help call reaches the SMS path with the platform's broker down, and that it goes once.

    .venv/bin/python benchmarks/bench_second_path.py [--runs 3] [--cases stopped,frozen,frozen10]

The real daemon (its own process), mosquitto, the RFLink emulator for the press and the
modem emulator on a pty. Each run: a fresh daemon connected to a fresh broker, then
the broker is taken away, the help button pressed, and the time from the press to the
SMS being handed to the modem (the emulator's ``+CMGS``) is measured. Cases:

- ``stopped``: the broker process ends; the hub sees the connection close (defaults:
  ``after_s`` 60, sent as soon as the uplink counts as down);
- ``frozen``: the broker is SIGSTOPped, so the hub's TCP connection stays up and nothing
  is acknowledged: the silent failure of a home's router (defaults);
- ``frozen10``: the same with ``second_path.after_s = 10``.

After the first SMS each run waits ``--watch-s`` (default 20 s) more and counts SMS per
(alert, level, number), which must all be 1; ``--watch-s 240`` follows the alert up the whole
escalation ladder (levels 0 to 3, 60 s apart) with nobody acknowledging.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import tomli_w

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators.broker import Mosquitto  # noqa: E402
from simulators.modem import ModemEmulator  # noqa: E402
from simulators.rflink import RadioCode, RflinkEmulator  # noqa: E402

SOS = RadioCode("EV1527", "0a1b2c", "01")
NUMBERS = ("+8613800138000", "+8610690000")


def config(work: Path, port: int, rflink: Path, modem: Path, after_s: float | None) -> dict[str, Any]:
    second: dict[str, Any] = {
        "enabled": True, "port": str(modem),
        "recipients": [{"number": NUMBERS[0], "language": "zh", "role": "family"},
                       {"number": NUMBERS[1], "language": "en", "role": "platform_gateway"}],
        "test_interval_days": 0.0,
    }
    if after_s is not None:
        second["after_s"] = after_s
    return {
        "site": {"id": "bench"},
        # The defaults (keepalive 30 s, reconnect 1-60 s), but no fleet slot to wait for after a boot.
        "platform": {"host": "127.0.0.1", "port": port, "boot_spread_s": 0.0},
        "storage": {"path": str(work / "state" / "carehub.db")},
        "rflink": {"enabled": True, "port": str(rflink)},
        "web": {"enabled": False},
        "devices": [{"id": "sos-bed", "protocol": "EV1527", "address": "0a1b2c", "switch": "01", "kind": "sos",
                     "room": "bedroom"}],
        "second_path": second,
    }


def events(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def wait_log(log: Path, event: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in events(log):
            if ev.get("event") == event:
                return dict(ev)
        time.sleep(0.05)
    raise TimeoutError(f"no {event} in {timeout} s")


def one_run(case: str, work: Path, watch_s: float) -> dict[str, Any]:
    after_s = 10.0 if case == "frozen10" else None
    broker = Mosquitto().start()
    rflink = RflinkEmulator(work / "rflink").start()
    modem = ModemEmulator(work / "modem").start()
    sent_at: list[float] = []
    modem.on_sent = lambda sms: sent_at.append(time.monotonic())
    path = work / "carehub.toml"
    path.write_text(tomli_w.dumps(config(work, broker.port, rflink.link, modem.link, after_s)))
    log = work / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(path),
                                   "--log-format", "json"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_log(log, "uplink.connected", 20)
        wait_log(log, "modem.opened", 20)
        time.sleep(1.0)
        assert broker.proc is not None
        if case == "stopped":
            broker.stop()
            wait_log(log, "uplink.disconnected", 10)
        else:
            os.kill(broker.proc.pid, signal.SIGSTOP)
        pressed = time.monotonic()
        rflink.frame(SOS, "ON", repeats=3)
        deadline = pressed + 90
        while not sent_at and time.monotonic() < deadline:
            time.sleep(0.02)
        if not sent_at:
            raise TimeoutError("no SMS within 90 s")
        latency = sent_at[0] - pressed
        time.sleep(watch_s)
        per_key = Counter((e["id"], e["escalation_level"], e["to"]) for e in events(log)
                          if e.get("event") == "alert.sms_sent")
        levels = sorted({int(k[1]) for k in per_key})
        return {"case": case, "after_s": after_s or 60.0, "press_to_sms_s": round(latency, 2), "levels": levels,
                "sms": len(modem.sent), "sms_sent_events": sum(per_key.values()),
                "most_per_alert_level_number": max(per_key.values(), default=0)}
    finally:
        if broker.proc is not None and case != "stopped":
            os.kill(broker.proc.pid, signal.SIGCONT)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            daemon.kill()
        modem.stop()
        rflink.stop()
        broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="stopped,frozen,frozen10")
    ap.add_argument("--watch-s", type=float, default=20.0, help="how long to count SMS after the first")
    args = ap.parse_args()
    results = []
    for case in args.cases.split(","):
        for i in range(args.runs):
            with tempfile.TemporaryDirectory(prefix=f"bench-sp-{case}-{i}-") as tmp:
                r = one_run(case, Path(tmp), args.watch_s)
            print(json.dumps(r), flush=True)
            results.append(r)
    for case in args.cases.split(","):
        lat = [r["press_to_sms_s"] for r in results if r["case"] == case]
        dup = max(r["most_per_alert_level_number"] for r in results if r["case"] == case)
        print(f"{case}: press to SMS min {min(lat):.1f} s, max {max(lat):.1f} s over {len(lat)} runs; "
              f"most SMS for one alert, level and number: {dup}")


if __name__ == "__main__":
    main()
