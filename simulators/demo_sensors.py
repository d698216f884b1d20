"""The demo flat's other sensor families: a Zigbee PIR, an rtl_433 door contact and a bathroom radar.

The radar is an emulated Seeed MR60FDA2 on a pseudo-terminal speaking its real
frames, and reports a fall that no wearable saw; the PIR is an emulated
Zigbee2MQTT device publishing its real payloads on the demo's broker (Zigbee2MQTT
may share the platform's broker). The balcony door is a Honeywell contact as
rtl_433 decodes it from an SDR dongle: the hub runs rtl_433 as its own child
process (``source = "process"``, the default an installer with a dongle on the
hub uses); here the child is ``carehub sim rtl433``, which prints rtl_433's real
JSON events when the demo appends an event name to a file it follows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from simulators.platform import PlatformEmulator
from simulators.radar import RadarEmulator
from simulators.zigbee2mqtt import Zigbee2MqttEmulator

RADAR_ID = "radar-bath"
ZIGBEE_PIR = "hall pir"
RADAR_CANCEL_WINDOW_S = 5.0
RTL433_DOOR = "door-balcony"


class Waits(Protocol):
    def wait(self, name: str, timeout: float, where: Callable[[dict[str, Any]], bool] = ...) -> bool: ...


def sensors_config(radar_link: Path, broker_port: int, rtl433_air: Path) -> dict[str, Any]:
    return {
        "rtl433": {"enabled": True, "source": "process",
                   "command": [sys.executable, "-m", "gateway.cli", "sim", "rtl433", "--follow", str(rtl433_air)]},
        "rtl433_devices": [{"id": RTL433_DOOR, "model": "Honeywell-Security", "address": "123456", "channel": "8",
                            "kind": "door", "room": "living", "name": "Balcony door (rtl_433)"}],
        "radars": [{"id": RADAR_ID, "model": "mr60fda2", "port": str(radar_link), "room": "bathroom",
                    "name": "Fall radar on the bathroom ceiling", "cancel_window_s": RADAR_CANCEL_WINDOW_S}],
        "zigbee2mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker_port},
        "zigbee_devices": [{"id": "zb-pir-hall", "friendly_name": ZIGBEE_PIR, "kind": "pir", "room": "hall",
                            "name": "Zigbee PIR in the hall", "offline_after_s": 3600}],
    }


def show_radar_and_zigbee(hub: Waits, platform: PlatformEmulator, radar: RadarEmulator,
                          z2m: Zigbee2MqttEmulator, out: Callable[[str], None]) -> bool:
    if not (hub.wait("radar.opened", 20) and hub.wait("zigbee2mqtt.connected", 20)):
        out("FAILED: the hub did not open the radar or reach Zigbee2MQTT")
        return False
    z2m.add(ZIGBEE_PIR, "pir")
    z2m.event(ZIGBEE_PIR, "motion")
    out("zigbee: the hall PIR (through Zigbee2MQTT) sees her walk to the bathroom")
    radar.set(state="still")
    out("radar: someone in the bathroom, not moving (a PIR sees nothing now)")
    time.sleep(1.0)
    radar.set(fallen=True)
    out(f"radar: the bathroom radar reports a fall; the hub holds it {RADAR_CANCEL_WINDOW_S:g} s, as for a pendant")
    if not platform.wait_for(lambda p: any(a.get("device") == RADAR_ID for a in p.alerts_of("fall", "open")),
                             timeout=30):
        out("FAILED: the radar's fall did not reach the platform")
        return False
    out("radar fall reached the platform as an emergency, with no wearable involved")
    return True


class Rtl433Air:
    """What the emulated SDR dongle hears next: one event name per line, read by ``carehub sim rtl433 --follow``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.path.with_name(self.path.name + ".ready").exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def send(self, event: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(event + "\n")


def show_rtl433_door(hub: Waits, air: Rtl433Air, out: Callable[[str], None]) -> bool:
    if not (hub.wait("rtl433.started", 20) and air.ready()):
        out("FAILED: the hub did not start rtl_433")
        return False
    air.send("honeywell_open")
    out("rtl_433: the balcony door opens (a Honeywell contact, decoded by rtl_433 from the SDR dongle)")
    time.sleep(1.5)
    air.send("honeywell_close")
    out("rtl_433: the balcony door closes again; she is back inside")
    return True
