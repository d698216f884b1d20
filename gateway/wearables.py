"""Wiring the BLE wearable driver to the config: which wearables, which radio."""

from __future__ import annotations

from collections.abc import Callable

from detection.events import Observation, Stamp
from drivers.ble.driver import Radio, WearableDriver, WearableSpec
from gateway.config import Config

__all__ = ["WearableDriver", "wearable_driver"]


def wearable_driver(cfg: Config, emit: Callable[[Observation], None], clock: Callable[[], Stamp]) -> WearableDriver:
    specs = [WearableSpec(w.id, w.address, w.profile, w.placement) for w in cfg.wearables]
    ble = cfg.ble

    def radio() -> Radio:
        if ble.emulator_socket:
            from drivers.ble.loopback import LoopbackRadio

            return LoopbackRadio(ble.emulator_socket)
        # Imported here: on a hub without D-Bus, importing bleak itself is fine, but only
        # the real radio should need it.
        from drivers.ble.bluez import BleakRadio

        return BleakRadio(ble.adapter)

    return WearableDriver(specs, radio, emit, clock)
