"""A wearable's fall through the real daemon: emulated carehub wearable -> loopback radio -> platform."""

from __future__ import annotations

import numpy as np
import pytest

from detection.events import ButtonAction
from simulators.wearable import VirtualWearable, WearableEmulator
from tests.conftest import SHARED_DATA, hub_config
from tests.unit.test_fall_detector import fall_signal

pytestmark = pytest.mark.integration
ADDR = "C0:FF:EE:00:00:01"


def fall_recording() -> np.ndarray:
    """A real fall trial where the data is present, otherwise the synthetic one."""
    path = SHARED_DATA / "sisfall-young-50hz.npz"
    if path.exists():
        d = np.load(path)
        i = list(d["trial"]).index("F01_SA05_R01")
        return d["acc"][d["offsets"][i]:d["offsets"][i + 1]] / 1000.0
    return fall_signal(np.random.default_rng(2))


@pytest.fixture
def emulator(tmp_path):
    emu = WearableEmulator(tmp_path / "ble.sock", [VirtualWearable(ADDR)]).start()
    yield emu
    emu.stop()


def wearable_config(tmp_path, port: int, sock: str, cancel_window_s: float) -> dict:
    return hub_config(tmp_path, port, None, ble={"enabled": True, "emulator_socket": sock}, wearables=[
        {"id": "pendant", "address": ADDR, "profile": "carehub", "placement": "waist",
         "cancel_window_s": cancel_window_s}])


def test_a_real_fall_reaches_the_platform_as_an_emergency(tmp_path, mosquitto, platform, emulator, daemon_factory):
    hub = daemon_factory(wearable_config(tmp_path, mosquitto.port, emulator.path, 3.0)).start()
    hub.wait_event("ble.connected", timeout=15)
    emulator.wearables[ADDR].play(fall_recording())
    assert platform.wait_for(lambda p: bool(p.alerts_of("fall", "open")), timeout=40), hub.tail()
    alert = platform.alerts_of("fall", "open")[0]
    assert alert["severity"] == "emergency" and alert["device"] == "pendant"
    assert alert["evidence"]["peak_g"] > 2 and "posture_change_deg" in alert["evidence"]


def test_a_fall_cancelled_by_the_wearer_is_not_an_emergency(tmp_path, mosquitto, platform, emulator, daemon_factory):
    hub = daemon_factory(wearable_config(tmp_path, mosquitto.port, emulator.path, 20.0)).start()
    hub.wait_event("ble.connected", timeout=15)
    emulator.wearables[ADDR].play(fall_recording())
    hub.wait_event("alert.cancel_window", timeout=40)
    emulator.press(ADDR, ButtonAction.CANCEL)
    assert platform.wait_for(lambda p: bool(p.alerts_of("fall", "cancelled")), timeout=10), hub.tail()
    assert platform.alerts_of("fall", "cancelled")[0]["severity"] == "info"
    assert platform.alerts_of("fall", "open") == []


def test_wearable_help_button_is_an_emergency(tmp_path, mosquitto, platform, emulator, daemon_factory):
    hub = daemon_factory(wearable_config(tmp_path, mosquitto.port, emulator.path, 30.0)).start()
    hub.wait_event("ble.connected", timeout=15)
    emulator.press(ADDR, ButtonAction.HELP)
    assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10), hub.tail()
    emulator.set_battery(ADDR, 9)
    assert platform.wait_for(lambda p: bool(p.alerts_of("battery_low")), timeout=10)
