"""The demo's second-path scene: the home's internet fails, the help call goes out by SMS.

    carehub demo --second-path        (./dev demo --second-path)

A real mosquitto, the daemon as its own process, the RFLink gateway and a cellular
modem emulated on pseudo-terminals (simulators/modem.py), the platform emulator. The
platform's broker is unplugged, the help button pressed: the hub sends the alarm by
SMS to the duty phone (in Chinese) and to the platform's SMS gateway (in English); the
duty phone answers "收到 <id>", which acknowledges the alert on the hub and earns a
confirmation; when the broker is back the platform hears the whole story. About 20 s,
so it runs on its own rather than lengthening the main demo.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from simulators.broker import Mosquitto
from simulators.modem import ModemEmulator, SentSms
from simulators.platform import PlatformEmulator
from simulators.rflink import RadioCode, RflinkEmulator

SITE = "demo-site"
SOS = {"id": "sos-bed", "protocol": "EV1527", "address": "0a1b2c", "switch": "01", "kind": "sos", "room": "bedroom",
       "name": "Help button by the bed"}
DUTY = "+8613800138000"
GATEWAY = "+8610690000"


def scene_config(work: Path, broker_port: int, rflink: Path, modem: Path) -> dict[str, Any]:
    return {
        "site": {"id": SITE, "name": "王阿姨家"},
        "platform": {"host": "127.0.0.1", "port": broker_port, "reconnect_min_s": 0.5, "reconnect_max_s": 2.0,
                     "boot_spread_s": 0.0},
        "alerts": {"ack_timeout_s": 30.0},
        "storage": {"path": str(work / "carehub.db")},
        "rflink": {"enabled": True, "port": str(rflink), "reopen_min_s": 0.2, "reopen_max_s": 2.0},
        "web": {"enabled": False},
        "devices": [SOS],
        "second_path": {"enabled": True, "port": str(modem), "after_s": 10.0, "test_interval_days": 0.0,
                        "recipients": [{"number": DUTY, "language": "zh", "role": "duty", "name": "值班员"},
                                       {"number": GATEWAY, "language": "en", "role": "platform_gateway"}]},
    }


class _Hub:
    """The daemon, its JSON log read as it comes."""

    def __init__(self, config: Path) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", str(config),
                                      "--log-format", "json"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()

    def wait(self, name: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hit = next((e for e in self.events if e.get("event") == name), None)
                if hit is not None or time.monotonic() >= deadline or self.proc.poll() is not None:
                    return hit
                self._cond.wait(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def run_second_path_demo(workdir: Path | None = None, say: Callable[[str], None] = print) -> int:
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="carehub-demo-sms-"))
    started = time.monotonic()

    def story(text: str) -> None:
        say(f"[{time.monotonic() - started:5.1f}s] {text}")

    try:
        work.mkdir(parents=True, exist_ok=True)
        return _scene(work, story)
    except KeyboardInterrupt:
        story("stopped (Ctrl-C)")
        return 130
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _scene(work: Path, story: Callable[[str], None]) -> int:
    broker = Mosquitto(persistent=True).start()  # the platform's queued messages survive the unplugging
    rflink = RflinkEmulator(work / "serial-by-id-rflink").start()
    modem = ModemEmulator(work / "serial-by-id-modem",
                          on_sent=lambda sms: story(f"phone {sms.number} receives ({sms.parts} part(s)): {sms.text}"))
    modem.start()
    config = work / "carehub.toml"
    config.write_text(tomli_w.dumps(scene_config(work, broker.port, rflink.link, modem.link)))
    platform = PlatformEmulator("127.0.0.1", broker.port, persistent=True, printer=story).start()
    hub = _Hub(config)
    try:
        if hub.wait("uplink.connected", 30) is None or hub.wait("modem.opened", 15) is None:
            story("FAILED: the hub did not connect to the broker and open the modem")
            return 1
        story("hub: connected to the platform's broker and to the cellular modem (SIM ready, CHINA MOBILE)")
        story("the home's internet fails: the platform's broker is unplugged")
        broker.stop()
        hub.wait("uplink.disconnected", 10)
        rflink.frame(RadioCode(SOS["protocol"], SOS["address"], SOS["switch"]), "ON", repeats=3)
        pressed = time.monotonic()
        story("radio: the help button by the bed is pressed")
        if not _until(lambda: any(s.number == DUTY for s in modem.sent), 20):
            story("FAILED: no SMS went out")
            return 1
        first: SentSms = next(s for s in modem.sent if s.number == DUTY)
        story(f"hub: the uplink is down, so the help call went by SMS {time.monotonic() - pressed:.1f} s after "
              "the press")
        match = re.search(r"收到 ([0-9A-F]{4,8})", first.text)
        assert match is not None
        time.sleep(2.0)
        story(f"the duty phone {DUTY} replies: 收到 {match.group(1)}")
        modem.deliver(DUTY, f"收到 {match.group(1)}")
        acked = hub.wait("alert.sms_acknowledged", 15)
        if acked is None:
            story("FAILED: the reply did not acknowledge the alert")
            return 1
        story(f"hub: alert {acked['id'][:8]} acknowledged by {acked['by']}: no escalation, audited")
        _until(lambda: any("已确认" in s.text for s in modem.sent), 10)
        story("the home's internet is back: the broker returns")
        broker.start()
        heard = platform.wait_for(lambda p: any(a.get("state") == "acked" for a in p.alerts), timeout=30)
        if not heard:
            story("FAILED: the platform did not hear of the SMS acknowledgement")
            return 1
        final = next(a for a in platform.alerts if a.get("state") == "acked")
        story("platform: hears the SMS history of alert " + final["id"][:8] + ": " + ", ".join(
            f"{e['event']} {e['number']}" for e in final["second_path"]["sms"]))
        story("the second path carried the help call while the internet was down, and the platform knows it")
        return 0
    finally:
        hub.stop()
        platform.stop()
        modem.stop()
        rflink.stop()
        broker.stop()
