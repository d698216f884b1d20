"""The demo flat's Zigbee PIR and bathroom radar: a fall that no wearable saw reaches the platform.

The radar is an emulated Seeed MR60FDA2 on a pseudo-terminal speaking its real
frames; the PIR is an emulated Zigbee2MQTT device publishing its real payloads on
the demo's broker (Zigbee2MQTT may share the platform's broker).
"""

from __future__ import annotations

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


class Waits(Protocol):
    def wait(self, name: str, timeout: float, where: Callable[[dict[str, Any]], bool] = ...) -> bool: ...


def sensors_config(radar_link: Path, broker_port: int) -> dict[str, Any]:
    return {
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
