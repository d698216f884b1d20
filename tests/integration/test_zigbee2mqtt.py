"""Zigbee2MQTT input through real mosquittos: the daemon reads an emulated Zigbee2MQTT's broker."""

from __future__ import annotations

import time

import pytest

from simulators.broker import Mosquitto
from simulators.zigbee2mqtt import Zigbee2MqttEmulator
from tests.conftest import hub_config

pytestmark = pytest.mark.integration

ZIGBEE_DEVICES = [
    {"id": "zb-sos", "friendly_name": "sos button", "kind": "sos", "room": "bedroom"},
    {"id": "zb-pir", "friendly_name": "hall pir", "kind": "pir", "room": "hall", "offline_after_s": 600},
]


def test_zigbee_sos_reaches_the_platform_and_survives_the_zigbee_broker_restarting(
        tmp_path, mosquitto, platform, daemon_factory):
    # Zigbee2MQTT's own broker, beside the platform's (the usual installation).
    zbroker = Mosquitto(persistent=True).start()
    try:
        cfg = hub_config(tmp_path, mosquitto.port, None,
                         zigbee2mqtt={"enabled": True, "host": "127.0.0.1", "port": zbroker.port},
                         zigbee_devices=ZIGBEE_DEVICES)
        hub = daemon_factory(cfg).start()
        hub.wait_event("uplink.connected")
        hub.wait_event("zigbee2mqtt.connected", timeout=10)
        with Zigbee2MqttEmulator("127.0.0.1", zbroker.port) as z2m:
            z2m.add("hall pir", "pir")
            z2m.add("sos button", "sos")
            z2m.add("someone's lamp", "pir")  # not configured: counted for learn mode, never an alert
            hub.wait_event("zigbee2mqtt.bridge_devices", where=lambda e: e.get("count") == 3)
            z2m.event("hall pir", "motion")
            z2m.publish("sos button", b"{not json")  # a broken message is counted and logged, not fatal
            hub.wait_event("zigbee2mqtt.bad_message", where=lambda e: e.get("problem") == "malformed")
            z2m.event("sos button", "sos")
            assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=10)
            alert = platform.alerts_of("help_call")[0]
            assert (alert["severity"], alert["device"], alert["room"]) == ("emergency", "zb-sos", "bedroom")
            hub.wait_event("alert.acked", where=lambda e: e.get("id") == alert["id"])

        zbroker.stop()
        hub.wait_event("zigbee2mqtt.disconnected", timeout=10)
        time.sleep(0.5)
        zbroker.start()  # same port
        hub.wait_event("zigbee2mqtt.connected", timeout=20, nth=2)
        with Zigbee2MqttEmulator("127.0.0.1", zbroker.port) as z2m:
            z2m.add("sos button", "sos")
            time.sleep(2.0)  # after the first alert's repeat window, so a new press is a new alert
            z2m.event("sos button", "sos")
            assert platform.wait_for(lambda p: len({a["id"] for a in p.alerts_of("help_call")}) >= 2,
                                     timeout=15)
        assert hub.stop() == 0
    finally:
        zbroker.stop()
