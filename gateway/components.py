"""The hub's components, each with the config slice it owns (gateway/supervisor.py).

A new radio or alarm path is one more ``ComponentSpec`` here: how to build it from
the config, which part of the config rebuilds it, and which changes it follows live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.radar import RadarDriver, RadarGroup, RadarSpec
from drivers.rflink import DeviceSpec, RflinkDriver
from gateway.config import Config
from gateway.supervisor import Component, ComponentSpec
from gateway.wearables import WearableDriver, wearable_driver

if TYPE_CHECKING:
    from gateway.daemon import Hub


def rflink_specs(cfg: Config) -> list[DeviceSpec]:
    return [DeviceSpec(d.id, d.protocol, d.address, d.kind, d.room, d.switch) for d in cfg.devices]


def hub_components(hub: Hub) -> list[ComponentSpec]:
    from gateway.web.component import WebComponent

    def rflink(cfg: Config) -> RflinkDriver | None:
        if not cfg.rflink.enabled:
            return None
        return RflinkDriver(
            cfg.rflink.port, rflink_specs(cfg), hub.pipeline.submit, hub.clock.now,
            baudrate=cfg.rflink.baudrate, on_heard=hub.on_heard,
            reopen_min_s=cfg.rflink.reopen_min_s, reopen_max_s=cfg.rflink.reopen_max_s,
        )

    def follow_devices(driver: Component, cfg: Config) -> None:
        if isinstance(driver, RflinkDriver):
            driver.update_devices(rflink_specs(cfg))

    def ble(cfg: Config) -> WearableDriver | None:
        # Runs with no wearables configured too, so that the installer can scan for one.
        return wearable_driver(cfg, hub.pipeline.submit, hub.clock.now) if cfg.ble.enabled else None

    def radars(cfg: Config) -> RadarGroup | None:
        if not cfg.radars:
            return None
        return RadarGroup(
            RadarDriver(r.port, RadarSpec(r.id, r.model, r.room), hub.pipeline.submit, hub.clock.now,
                        baudrate=r.baudrate or None)
            for r in cfg.radars
        )

    return [
        ComponentSpec("radar", owns=lambda c: c.radars, build=radars),
        ComponentSpec("rflink", owns=lambda c: c.rflink, build=rflink, update=follow_devices),
        ComponentSpec("ble", owns=lambda c: (c.ble, c.wearables), build=ble),
        ComponentSpec("web", owns=lambda c: c.web, live=False,
                      build=lambda c: WebComponent(hub) if c.web.enabled else None),
    ]
