"""rtl_433 input with real parts: the daemon supervising an emulated rtl_433 process, and rtl_433's MQTT output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, hub_config

pytestmark = pytest.mark.integration

RTL433_DEVICES = [
    {"id": "sos-433", "model": "Generic-Remote", "address": "4660", "kind": "sos", "room": "bedroom"},
    {"id": "door-433", "model": "Honeywell-Security", "address": "123456", "channel": "8", "kind": "door",
     "room": "entrance"},
]


def test_rtl433_process_press_reaches_the_platform_and_the_process_is_restarted(
        tmp_path, mosquitto, platform, daemon_factory):
    # Stands in for `rtl_433 -F json`: a door opening, then an SOS press, then it exits (a pulled dongle).
    command = [sys.executable, "-m", "gateway.cli", "sim", "rtl433", "--step", "1.0:honeywell_open",
               "--step", "0.2:raw:{not json", "--step", "0.2:generic_sos"]
    cfg = hub_config(tmp_path, mosquitto.port, None, rtl433={"enabled": True, "command": command},
                     rtl433_devices=RTL433_DEVICES)
    hub = daemon_factory(cfg).start()
    hub.wait_event("uplink.connected")
    hub.wait_event("rtl433.started", timeout=10)
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=20)
    alert = platform.alerts_of("help_call")[0]
    assert (alert["severity"], alert["device"], alert["room"]) == ("emergency", "sos-433", "bedroom")
    # The burst of two identical lines is one press: one alert.
    assert len({a["id"] for a in platform.alerts_of("help_call")}) == 1
    bad = hub.wait_event("rtl433.bad_event", timeout=5)
    assert bad["problem"] == "malformed"
    exited = hub.wait_event("rtl433.exited", timeout=10)
    assert "rtl_433 emulator" in exited["stderr"]
    hub.wait_event("rtl433.started", timeout=10, nth=2)
    assert hub.stop() == 0


def test_rtl433_mqtt_output_is_read(tmp_path, mosquitto, platform, daemon_factory):
    cfg = hub_config(tmp_path, mosquitto.port, None,
                     rtl433={"enabled": True, "source": "mqtt", "host": "127.0.0.1", "port": mosquitto.port},
                     rtl433_devices=RTL433_DEVICES)
    hub = daemon_factory(cfg).start()
    hub.wait_event("rtl433.mqtt_connected", timeout=10)
    press = json.dumps({"model": "Generic-Remote", "id": 4660, "cmd": 3, "tristate": "0Z0ZXZ0Z000X"})
    subprocess.run([sys.executable, "-m", "gateway.cli", "sim", "rtl433", "--port", str(mosquitto.port),
                    "--step", "0:" + press], cwd=REPO, check=True, timeout=30)
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=10)
    assert platform.alerts_of("help_call")[0]["device"] == "sos-433"
    assert hub.stop() == 0
