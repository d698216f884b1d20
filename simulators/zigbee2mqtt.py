"""A Zigbee2MQTT instance, emulated: real device payloads published to a real broker.

What it publishes is what Zigbee2MQTT publishes for the devices the codec's
golden vectors come from (docs/zigbee.md): the whole cached state on
``<base>/<friendly_name>`` at every event, a retained ``online``/``offline`` on
``<base>/<friendly_name>/availability``, and the retained ``bridge/devices`` list.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

# What each kind looks like to Zigbee2MQTT (model, vendor) and the state it starts from.
MODELS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "pir": ("TS0202", "Tuya", {"battery": 100, "battery_low": False, "linkquality": 142, "occupancy": False,
                               "tamper": False, "voltage": 3000}),
    "door": ("MCCGQ11LM", "Aqara", {"battery": 91, "contact": True, "device_temperature": 21, "linkquality": 120,
                                    "power_outage_count": 3, "voltage": 2995}),
    "sos": ("BT400B", "Tuya", {"battery": 100, "linkquality": 87, "voltage": 3100}),
    "bed": ("TS0601_bed_presence_sensor", "Tuya", {"battery": 80, "presence": False}),
    "presence": ("TS0601_human_presence_sensor", "Tuya", {"presence": False, "linkquality": 150}),
}
EVENTS = ("motion", "no_motion", "open", "close", "sos", "in_bed", "out_of_bed", "present", "absent", "online",
          "offline", "battery_low", "single", "double", "hold", "long")
BUTTON_ACTIONS = ("single", "double", "hold", "long")


@dataclass
class EmulatedDevice:
    friendly_name: str
    kind: str
    ieee: str
    state: dict[str, Any] = field(default_factory=dict)


class Zigbee2MqttEmulator:
    def __init__(self, host: str, port: int, base_topic: str = "zigbee2mqtt", *,
                 json_availability: bool = False) -> None:
        self.host, self.port, self.base = host, port, base_topic
        self.json_availability = json_availability
        self.devices: dict[str, EmulatedDevice] = {}
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"zigbee2mqtt-emulator-{port}")
        self._connected = threading.Event()
        self._client.on_connect = lambda *a: self._connected.set()

    def __enter__(self) -> Zigbee2MqttEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> Zigbee2MqttEmulator:
        self._client.connect(self.host, self.port)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError(f"no broker at {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def add(self, friendly_name: str, kind: str) -> EmulatedDevice:
        """Pair a device: it appears in bridge/devices, comes online and reports its state."""
        if kind not in MODELS:
            raise ValueError(f"kind must be one of {sorted(MODELS)}")
        dev = EmulatedDevice(friendly_name, kind, f"0x00158d00{len(self.devices) + 1:08x}", dict(MODELS[kind][2]))
        self.devices[friendly_name] = dev
        self._bridge_devices()
        self.event(friendly_name, "online")
        return dev

    def event(self, friendly_name: str, event: str) -> None:
        dev = self.devices[friendly_name]
        table: dict[str, dict[str, Any]] = {
            "motion": {"occupancy": True}, "no_motion": {"occupancy": False},
            "open": {"contact": False}, "close": {"contact": True},  # contact false = open
            "in_bed": {"presence": True}, "out_of_bed": {"presence": False},
            "present": {"presence": True}, "absent": {"presence": False},
            "battery_low": {"battery_low": True, "battery": 5},
        }
        updates = table.get(event, {})
        if event in ("online", "offline"):
            payload = json.dumps({"state": event}) if self.json_availability else event
            self.publish(f"{friendly_name}/availability", payload.encode(), retain=True)
            if event == "online":
                self.publish(friendly_name, json.dumps(dev.state).encode())
            return
        if event == "sos":
            # action is published with the cached state but not cached itself
            self.publish(friendly_name, json.dumps({**dev.state, "action": "emergency"}).encode())
            return
        if event in BUTTON_ACTIONS:  # a multi-press button (SONOFF SNZB-01, Tuya TS0041): its own pattern
            self.publish(friendly_name, json.dumps({**dev.state, "action": event}).encode())
            return
        if event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}")
        dev.state.update(updates)
        self.publish(friendly_name, json.dumps(dev.state).encode())

    def publish(self, subtopic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self._client.publish(f"{self.base}/{subtopic}", payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def _bridge_devices(self) -> None:
        listing: list[dict[str, Any]] = [{"type": "Coordinator", "ieee_address": "0x00124b0000000001",
                                          "friendly_name": "Coordinator"}]
        for d in self.devices.values():
            model, vendor, _ = MODELS[d.kind]
            listing.append({"type": "EndDevice", "ieee_address": d.ieee, "friendly_name": d.friendly_name,
                            "supported": True, "definition": {"model": model, "vendor": vendor,
                                                              "exposes": _exposes(d.kind)}})
        self.publish("bridge/devices", json.dumps(listing).encode(), retain=True)


def _exposes(kind: str) -> list[dict[str, Any]]:
    """The generic exposes Zigbee2MQTT lists for the model's state (zigbee2mqtt.io "Exposes": type,
    name, property, access 1 = published), plus the enum ``action`` of a button."""
    out: list[dict[str, Any]] = []
    for key, value in MODELS[kind][2].items():
        kind_of = "binary" if isinstance(value, bool) else "numeric"
        out.append({"type": kind_of, "name": key, "property": key, "access": 1})
    if kind == "sos":
        out.append({"type": "enum", "name": "action", "property": "action", "access": 1, "values": ["emergency"]})
    return out
