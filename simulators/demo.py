"""The whole hub on one machine with no hardware: broker, daemon, radio, platform.

A real mosquitto on a free loopback port, the real daemon (``carehub run``) as
its own process, an RFLink gateway on a pseudo-terminal playing a synthetic
morning from the home simulator, an rtl_433 balcony door, what the hub made of
the morning, then a help-button press, a pendant's falls, a Zigbee PIR and a
bathroom radar that reports a fall (simulators/demo_sensors.py), and the platform
emulator acknowledging what arrives. What is said, and how, is in
simulators/demo_story.py. A temporary work folder is removed at the end, also
after Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import shutil
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

import tomli_w

from simulators.broker import Mosquitto, free_port
from simulators.demo_falls import PENDANT, self_check_fall
from simulators.demo_sensors import (
    RTL433_DOOR,
    ZIGBEE_PIR,
    Rtl433Air,
    sensors_config,
    show_radar_and_zigbee,
    show_rtl433_door,
)
from simulators.demo_story import Story, StoryPlatform, hub_lines, morning_summary
from simulators.home import generate
from simulators.platform import PlatformEmulator
from simulators.radar import RadarEmulator
from simulators.rflink import RadioCode, RflinkEmulator, Step, play
from simulators.wearable import VirtualWearable, WearableEmulator
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
    steps, _ = morning(seed)
    return steps + press_steps()


def morning(seed: int = 3) -> tuple[list[Step], dict[int, tuple[float, str | None]]]:
    """The morning's radio steps, and for each (by ``id``) its simulated local time and the room
    where someone moved (None for a contact that says nothing of where she is)."""
    events, _ = generate(1, seed)
    day0 = events[0].local - events[0].local % 86400
    wake = next(e.local for e in events if e.sensor == "bed" and e.state == 0)
    steps, when, prev = [], {}, wake
    for e in events:
        if not wake <= e.local <= day0 + 10 * 3600:
            continue
        if e.kind == "motion" and e.state == 0:
            continue  # 433 MHz PIRs only send when they see movement
        word = {"motion": "movement", "door": "door opened" if e.state else "door closed",
                "bed": "in bed" if e.state else "out of bed"}.get(e.kind, f"{e.kind} {'on' if e.state else 'off'}")
        step = Step((e.local - prev) / SIM_SECONDS_PER_REAL_SECOND, SIM_TO_DEVICE[e.sensor],
                    "ON" if e.state else "OFF", repeats=2, note=f"{e.room}: {word}")
        steps.append(step)
        when[id(step)] = (e.local, e.room if e.kind == "motion" else None)
        prev = e.local
    return steps, when


def press_steps() -> list[Step]:
    return [Step(1.0, "pir-bedroom", battery="LOW", note="the bedroom sensor reports a low battery"),
            Step(2.0, "sos-bed", note="she presses the help button by the bed")]


# A sensor the demo config does not list: with --keep-running it sends now and then, so that the
# technician's page has something to learn.
NEW_SENSOR = RadioCode("EV1527", "0e0042", "")
SPARE_WEARABLE = "C0:FF:EE:00:00:02"


class DemoDaemon:
    """``carehub run`` in a child process; selected log events are printed as they come."""

    def __init__(self, config_path: Path, say: Callable[[str], None],
                 shown: dict[str, Callable[[dict[str, Any]], str]]) -> None:
        self._say = say
        self._shown = shown
        self._config_path = config_path
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(config_path), "--log-format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo, which then stops the hub in order
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
            show = self._shown.get(ev.get("event", ""))
            if show is not None:
                self._say(show(ev))
            elif ev.get("level") in ("error", "critical") and self.proc.poll() is None:
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


def _web_port(wanted: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            return free_port()


def run_demo(workdir: Path | None = None, *, keep_running: bool = False, say: Callable[[str], None] = print,
             web_port: int = 8080) -> int:
    story = Story(say)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="carehub-demo-"))
    try:
        work.mkdir(parents=True, exist_ok=True)
        return _run(work, story, keep_running, web_port)
    except KeyboardInterrupt:
        story("stopped (Ctrl-C); the hub, the broker and the emulators are shut down")
        return 0 if keep_running else 130
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, story: Story, keep_running: bool, web_port: int) -> int:
    with Mosquitto() as broker:
        story(f"broker: mosquitto on 127.0.0.1:{broker.port}")
        rflink = RflinkEmulator(work / "serial-by-id-rflink").start()
        pendant = VirtualWearable(PENDANT, "carehub pendant")
        # A second wearable the config does not list, for trying "Scan for wearables" on the page.
        wristband = VirtualWearable(SPARE_WEARABLE, "carehub wristband", seed=1)
        wearables = WearableEmulator(work / "wearables.sock", [pendant, wristband]).start()
        radar = RadarEmulator(work / "serial-by-id-mr60fda2", "mr60fda2").start()
        z2m = Zigbee2MqttEmulator("127.0.0.1", broker.port).start()
        air = Rtl433Air(work / "rtl433-air.txt")
        config_path = work / "carehub.toml"
        config_path.write_text(tomli_w.dumps(demo_config(work, broker.port, rflink.link, _web_port(web_port))
                                             | sensors_config(radar.link, broker.port, air.path)))
        story(f"config: {config_path}")
        hubs: list[DemoDaemon] = []

        def stored(alert_id: str, messages: int) -> bool:
            """The hub has logged the alert stored and its ``messages``-th message sent (2 s at most)."""
            if not hubs:
                return False
            log = hubs[0]
            return log.wait("alert.stored", 2, where=lambda e: e.get("id") == alert_id) and log.wait(
                "alert.published", 2, where=lambda e: e.get("id") == alert_id and sum(
                    1 for x in log.events if x.get("event") == "alert.published" and x.get("id") == alert_id
                ) >= messages)

        with StoryPlatform("127.0.0.1", broker.port, mode="late", delay_s=2.0, story=story,
                           stored=stored) as platform:
            hub = DemoDaemon(config_path, story, hub_lines(story))
            hubs.append(hub)
            try:
                if not hub.wait("hub.ready", 30):
                    story("the hub did not start; see the messages above")
                    return 1
                hub.wait("uplink.connected", 10)
                ok = _scenes(story, hub, platform, rflink, pendant, wearables, radar, z2m, air)
                if ok and keep_running:
                    _keep_running(story, hub, rflink, z2m, air)
                elif ok:
                    story("all of it reached the hub and the platform. To see it on the technician's page "
                          "(status, devices, the day), run ./dev demo --keep-running and open the page it prints")
                return 0 if ok else 1
            finally:
                hub.stop()
                rflink.stop()
                wearables.stop()
                radar.stop()
                z2m.stop()


def _scenes(story: Story, hub: DemoDaemon, platform: PlatformEmulator, rflink: RflinkEmulator,
            pendant: VirtualWearable, wearables: WearableEmulator, radar: RadarEmulator,
            z2m: Zigbee2MqttEmulator, air: Rtl433Air) -> bool:
    codes = {d["id"]: RadioCode(d["protocol"], d["address"], d.get("switch", "")) for d in DEVICES}
    steps, when = morning()

    def on_step(step: Step) -> None:
        local, room = when.get(id(step), (None, None))
        if local is not None:
            story.at(local)
        if room is not None:
            story.moved(room)
        elif step.device == "sos-bed":
            story.moved("bedroom")  # she is where the button is
        story(f"radio: {step.note}")

    story("radio: a synthetic morning in the flat (simulators/home.py), 15 minutes a second")
    play(rflink, steps, codes, on_step=on_step)
    if not show_rtl433_door(hub, air, story) or not _morning_view(story, platform):
        return False
    play(rflink, press_steps(), codes, on_step=on_step)
    press_t = time.monotonic()
    if not platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10):
        story("FAILED: the help call did not reach the platform")
        return False
    help_alert = platform.alerts_of("help_call")[0]
    arrived_ms = (help_alert["_received"] - press_t) * 1000
    acked = hub.wait("alert.acked", 15, where=lambda e: e.get("id") == help_alert["id"])
    story(f"help call reached the platform {arrived_ms:.0f} ms after the press; "
          f"{'acknowledged and closed' if acked else 'NOT acknowledged'}")
    return (acked and self_check_fall(hub, platform, pendant, wearables, story)
            and show_radar_and_zigbee(hub, platform, radar, z2m, story))


def _morning_view(story: Story, platform: PlatformEmulator) -> bool:
    """What the hub concluded from the morning, as the platform can ask it at any time."""
    time.sleep(0.5)  # the door's last event on its way through rtl_433
    platform.request(SITE, "status", {"request_id": "demo-morning"})
    if not platform.wait_for(lambda p: bool(_answer(p)), timeout=10):
        story("FAILED: the hub did not answer the platform's status request")
        return False
    status = _answer(platform)[0]
    for line in morning_summary(status, {d["id"]: d["room"] for d in DEVICES}):
        story(line)
    door = next((d for d in status.get("devices", []) if d.get("id") == RTL433_DOOR), None)
    if door is None or not door.get("last_seen_wall"):
        story("FAILED: the hub did not hear the rtl_433 balcony door")
        return False
    return True


def _answer(platform: PlatformEmulator) -> list[dict[str, Any]]:
    out = []
    for rec in platform.other:
        if "/response/" in rec.topic:
            with contextlib.suppress(ValueError):
                body = rec.json()
                if body.get("request_id") == "demo-morning":
                    out.append(body)
    return out


def _keep_running(story: Story, hub: DemoDaemon, rflink: RflinkEmulator, z2m: Zigbee2MqttEmulator,
                  air: Rtl433Air) -> None:
    story("still running (Ctrl-C to stop). On the technician's page, try Devices -> Learn a sensor: "
          f"a new door sensor ({NEW_SENSOR.protocol} {NEW_SENSOR.address}) sends every 10 s; the balcony "
          "door (rtl_433) and the hall PIR (Zigbee) report every 30 s")
    rounds = 0
    while hub.proc.poll() is None:
        rflink.frame(NEW_SENSOR, "ON")
        if rounds % 3 == 0:
            air.send("honeywell_open")
            z2m.event(ZIGBEE_PIR, "motion")
        elif rounds % 3 == 1:
            air.send("honeywell_close")
        rounds += 1
        time.sleep(10)
