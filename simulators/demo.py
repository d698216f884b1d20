"""The whole hub on one machine with no hardware: broker, daemon, radio, platform.

A real mosquitto on a free loopback port, the real daemon (``carehub run``) as
its own process, an RFLink gateway on a pseudo-terminal playing a synthetic
morning from the home simulator and then a help-button press, a pendant's
falls, a Zigbee PIR and a bathroom radar that reports a fall (simulators/demo_sensors.py),
and the platform emulator printing what arrives and acknowledging it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from detection.events import ButtonAction
from simulators.broker import Mosquitto, free_port
from simulators.demo_sensors import sensors_config, show_radar_and_zigbee
from simulators.home import generate
from simulators.platform import PlatformEmulator
from simulators.radar import RadarEmulator
from simulators.rflink import RadioCode, RflinkEmulator, Step, play
from simulators.wearable import VirtualWearable, WearableEmulator, synthetic_fall
from simulators.zigbee2mqtt import Zigbee2MqttEmulator

SITE = "demo-site"
DEVICES: list[dict[str, str]] = [
    {"id": "sos-bed", "protocol": "EV1527", "address": "0a1b2c", "switch": "01", "kind": "sos",
     "room": "bedroom", "name": "Help button by the bed"},
    {"id": "pir-bedroom", "protocol": "EV1527", "address": "0c0001", "kind": "pir", "room": "bedroom"},
    {"id": "pir-bathroom", "protocol": "EV1527", "address": "0c0002", "kind": "pir", "room": "bathroom"},
    {"id": "pir-kitchen", "protocol": "EV1527", "address": "0c0003", "kind": "pir", "room": "kitchen"},
    {"id": "pir-living", "protocol": "EV1527", "address": "0c0004", "kind": "pir", "room": "living"},
    {"id": "pir-entrance", "protocol": "EV1527", "address": "0c0005", "kind": "pir", "room": "entrance"},
    {"id": "door-entrance", "protocol": "EV1527", "address": "0d0001", "kind": "door", "room": "entrance"},
    {"id": "bed", "protocol": "EV1527", "address": "0e0001", "kind": "bed", "room": "bedroom"},
    {"id": "seat-living", "protocol": "EV1527", "address": "0e0002", "kind": "seat", "room": "living"},
    {"id": "toilet", "protocol": "EV1527", "address": "0e0003", "kind": "toilet_flush", "room": "bathroom"},
    {"id": "fridge", "protocol": "EV1527", "address": "0e0004", "kind": "fridge", "room": "kitchen"},
]

# The synthetic home's sensors (simulators/home.py) as the demo flat's radio devices.
SIM_TO_DEVICE = {
    "pir_bedroom": "pir-bedroom", "pir_bathroom": "pir-bathroom", "pir_kitchen": "pir-kitchen",
    "pir_living": "pir-living", "pir_hall": "pir-entrance", "door": "door-entrance", "bed": "bed",
    "seat": "seat-living", "toilet": "toilet", "fridge": "fridge",
}
SIM_SECONDS_PER_REAL_SECOND = 900.0  # a quarter of an hour of the morning per second


def morning_steps(seed: int = 3) -> list[Step]:
    """A synthetic morning (wake-up to 10:00) as radio steps, compressed in time, then the help press."""
    events, _ = generate(1, seed)
    day0 = events[0].local - events[0].local % 86400
    wake = next(e.local for e in events if e.sensor == "bed" and e.state == 0)
    steps, prev = [], wake
    for e in events:
        if not wake <= e.local <= day0 + 10 * 3600:
            continue
        if e.kind == "motion" and e.state == 0:
            continue  # 433 MHz PIRs only send when they see movement
        note = f"{e.room}: {e.kind} {'on' if e.state else 'off'}"
        steps.append(Step((e.local - prev) / SIM_SECONDS_PER_REAL_SECOND, SIM_TO_DEVICE[e.sensor],
                          "ON" if e.state else "OFF", repeats=2, note=note))
        prev = e.local
    steps.append(Step(1.0, "pir-bedroom", battery="LOW", note="bedroom sensor reports a low battery"))
    steps.append(Step(2.0, "sos-bed", note="she presses the help button by the bed"))
    return steps

# Daemon log events worth showing, and how.
_SHOWN: dict[str, Callable[[dict[str, Any]], str]] = {
    "hub.ready": lambda e: f"hub ready (site {e.get('site')}, {e.get('devices')} devices)",
    "uplink.connected": lambda e: f"hub connected to {e.get('broker')}",
    "rflink.opened": lambda e: "hub opened the RFLink gateway",
    "radar.opened": lambda e: f"hub opened the {e.get('model')} radar {e.get('radar')}",
    "zigbee2mqtt.connected": lambda e: f"hub subscribed to Zigbee2MQTT at {e.get('broker')}",
    "alert.stored": lambda e: f"hub stored alert {e['id'][:8]} ({e.get('severity')} {e.get('type')}, "
                              f"{e.get('room')}) durably",
    "alert.cancel_window": lambda e: f"hub holds alert {e['id'][:8]} for a {e.get('seconds')} s cancel window",
    "alert.cancelled": lambda e: f"hub cancelled alert {e['id'][:8]} ({e.get('reason')})",
    "alert.published": lambda e: f"hub: broker acknowledged alert {e['id'][:8]}",
    "alert.escalated": lambda e: f"hub escalated alert {e['id'][:8]} to level {e.get('escalation_level')}",
    "alert.acked": lambda e: f"hub: platform acknowledged alert {e['id'][:8]} -> closed",
    "ble.connected": lambda e: f"hub connected to wearable {e.get('wearable')} ({e.get('profile')} profile)",
    "alert.raised_after_window": lambda e: f"hub: nobody cancelled alert {e['id'][:8]}: raised as an emergency",
    "web.setup_code": lambda e: f"technician page: {e.get('url')}  setup code: {e.get('code')}",
    "web.listening": lambda e: f"technician page listening on {e.get('url')}",
}

# A sensor the demo config does not list: with --keep-running it sends now and then, so that the
# technician's page has something to learn.
NEW_SENSOR = RadioCode("EV1527", "0e0042", "")
SPARE_WEARABLE = "C0:FF:EE:00:00:02"


class DemoDaemon:
    """``carehub run`` in a child process; selected log events are printed as they come."""

    def __init__(self, config_path: Path, say: Callable[[str], None]) -> None:
        self._say = say
        self._config_path = config_path
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(config_path), "--log-format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                self._say("hub: " + raw.decode(errors="replace").rstrip())
                continue
            if ev.get("event") == "web.setup_code":  # the hub logs only a hint; the demo is its own root
                ev = {**ev, "code": self._setup_code()}
            show = _SHOWN.get(ev.get("event", ""))
            if show is not None:
                self._say(show(ev))
            elif ev.get("level") in ("error", "critical"):
                self._say(f"hub ERROR {ev.get('event')}: {ev}")
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()

    def _setup_code(self) -> str:
        storage = tomllib.loads(self._config_path.read_text())["storage"]["path"]
        try:
            return (Path(storage).parent / "web-setup-code").read_text().strip()
        except OSError:
            return "(carehub setup-code --config " + str(self._config_path) + ")"

    def wait(self, name: str, timeout: float, where: Callable[[dict[str, Any]], bool] = lambda e: True) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(e.get("event") == name and where(e) for e in self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


PENDANT = "C0:FF:EE:00:00:01"
FALL_TRIAL = "F01_SA05_R01"  # SisFall: a forward fall while walking, caused by a slip
SHARED_TRIALS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sisfall-young-50hz.npz"


def fall_recording() -> tuple[np.ndarray, str]:
    """A real fall from ../shared/data when it is there, else a synthetic one."""
    if SHARED_TRIALS.exists():
        d = np.load(SHARED_TRIALS)
        trials = [str(t) for t in d["trial"]]
        if FALL_TRIAL in trials:
            i = trials.index(FALL_TRIAL)
            return d["acc"][d["offsets"][i]:d["offsets"][i + 1]] / 1000.0, f"real SisFall trial {FALL_TRIAL}"
    return synthetic_fall(np.random.default_rng(4)), "a synthetic fall (../shared/data is absent)"


def demo_config(workdir: Path, broker_port: int, rflink_link: Path, web_port: int = 8080) -> dict[str, Any]:
    return {
        "web": {"enabled": True, "bind": "127.0.0.1", "port": web_port},
        "site": {"id": SITE, "name": "Demo flat"},
        "platform": {"host": "127.0.0.1", "port": broker_port, "health_interval_s": 30.0,
                     "reconnect_min_s": 0.5, "reconnect_max_s": 5.0,
                     "boot_spread_s": 0.0},  # one hub, maybe on a Pi booted a minute ago: no fleet to spread
        "alerts": {"ack_timeout_s": 10.0},
        "storage": {"path": str(workdir / "carehub.db")},
        "rflink": {"enabled": True, "port": str(rflink_link), "reopen_min_s": 0.2, "reopen_max_s": 2.0},
        "devices": DEVICES,
        "ble": {"enabled": True, "emulator_socket": str(workdir / "wearables.sock")},
        "wearables": [{"id": "pendant", "address": PENDANT, "profile": "carehub", "placement": "waist",
                       "cancel_window_s": 10.0, "name": "Pendant"}],
    }


def self_check_fall(hub: DemoDaemon, platform: PlatformEmulator, pendant: VirtualWearable,
                    wearables: WearableEmulator, out: Callable[[str], None]) -> bool:
    """The pendant replays a fall twice: the first becomes an emergency, the wearer cancels the second."""
    if not hub.wait("ble.connected", 20):
        out("FAILED: the hub did not connect to the pendant")
        return False
    samples, what = fall_recording()
    out(f"pendant: replaying {what} over the carehub BLE profile")
    pendant.play(samples)
    if not platform.wait_for(lambda p: bool(p.alerts_of("fall", "open")), timeout=60):
        out("FAILED: the fall did not reach the platform")
        return False
    out("pendant: replaying the same fall again; this time she presses 'I am fine'")
    pendant.play(samples)
    if not hub.wait("alert.cancel_window", 40, where=lambda e: len([1 for x in hub.events
                                                                  if x.get("event") == "alert.cancel_window"]) >= 2):
        out("FAILED: the second fall was not detected")
        return False
    wearables.press(PENDANT, ButtonAction.CANCEL)
    if not platform.wait_for(lambda p: bool(p.alerts_of("fall", "cancelled")), timeout=15):
        out("FAILED: the cancellation did not reach the platform")
        return False
    time.sleep(1.0)
    emergencies = len(platform.alerts_of("fall", "open"))
    out(f"falls: 1 raised as an emergency, 1 cancelled by the wearer and reported at low priority "
        f"({emergencies} fall emergency at the platform)")
    return emergencies == 1


def _web_port(wanted: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            return free_port()


def run_demo(workdir: Path | None = None, *, keep_running: bool = False, say: Callable[[str], None] = print,
             web_port: int = 8080) -> int:
    started = time.monotonic()

    def out(text: str) -> None:
        say(f"[{time.monotonic() - started:6.2f}s] {text}")

    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="carehub-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    with Mosquitto() as broker:
        out(f"broker: mosquitto on 127.0.0.1:{broker.port}")
        rflink = RflinkEmulator(work / "serial-by-id-rflink").start()
        pendant = VirtualWearable(PENDANT, "carehub pendant")
        # A second wearable the config does not list, for trying "Scan for wearables" on the page.
        wristband = VirtualWearable(SPARE_WEARABLE, "carehub wristband", seed=1)
        wearables = WearableEmulator(work / "wearables.sock", [pendant, wristband]).start()
        radar = RadarEmulator(work / "serial-by-id-mr60fda2", "mr60fda2").start()
        z2m = Zigbee2MqttEmulator("127.0.0.1", broker.port).start()
        config_path = work / "carehub.toml"
        config_path.write_text(tomli_w.dumps(demo_config(work, broker.port, rflink.link, _web_port(web_port))
                                             | sensors_config(radar.link, broker.port)))
        out(f"config: {config_path}")
        with PlatformEmulator("127.0.0.1", broker.port, mode="late", delay_s=2.0,
                              printer=lambda s: out(s)) as platform:
            hub = DemoDaemon(config_path, out)
            try:
                if not hub.wait("hub.ready", 30):
                    out("the hub did not start; see the messages above")
                    return 1
                hub.wait("uplink.connected", 10)
                codes = {d["id"]: RadioCode(d["protocol"], d["address"], d.get("switch", "")) for d in DEVICES}
                out("radio: a synthetic morning in the flat (simulators/home.py), 15 minutes a second")
                play(rflink, morning_steps(), codes, on_step=lambda s: out(f"radio: {s.note}"))
                press_t = time.monotonic()
                if not platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10):
                    out("FAILED: the help call did not reach the platform")
                    return 1
                help_alert = platform.alerts_of("help_call")[0]
                arrived_ms = (help_alert["_received"] - press_t) * 1000
                acked = hub.wait("alert.acked", 15, where=lambda e: e.get("id") == help_alert["id"])
                out(f"help call reached the platform {arrived_ms:.0f} ms after the press; "
                    f"{'acknowledged and closed' if acked else 'NOT acknowledged'}")
                fell = acked and self_check_fall(hub, platform, pendant, wearables, out)
                sensed = fell and show_radar_and_zigbee(hub, platform, radar, z2m, out)
                if keep_running:
                    out("still running (Ctrl-C to stop). On the technician's page, try Devices -> Learn a sensor: "
                        f"a new door sensor ({NEW_SENSOR.protocol} {NEW_SENSOR.address}) sends every 10 s")
                    while hub.proc.poll() is None:
                        rflink.frame(NEW_SENSOR, "ON")
                        time.sleep(10)
                return 0 if acked and fell and sensed else 1
            except KeyboardInterrupt:
                return 0
            finally:
                hub.stop()
                rflink.stop()
                wearables.stop()
                radar.stop()
                z2m.stop()
