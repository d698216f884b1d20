"""The hub's components, each with the config slice it owns (gateway/supervisor.py).

A new radio or alarm path is one more ``ComponentSpec`` here: how to build it from
the config, which part of the config rebuilds it, and which changes it follows live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.rflink import DeviceSpec, RflinkDriver
from gateway.config import Config
from gateway.supervisor import Component, ComponentSpec
from gateway.wearables import WearableDriver, wearable_driver

if TYPE_CHECKING:
    # The optional families are imported only when a hub has them configured: each costs
    # memory on a Pi that most homes never use.
    from drivers.radar import RadarGroup
    from drivers.rtl433 import Rtl433Device, Rtl433Driver
    from drivers.zigbee2mqtt import BrokerSettings, Zigbee2MqttDriver, ZigbeeDevice
    from gateway.daemon import Hub
    from gateway.paths.second_path import SecondPath
    from gateway.power import PowerMonitor


def rflink_specs(cfg: Config) -> list[DeviceSpec]:
    return [DeviceSpec(d.id, d.protocol, d.address, d.kind, d.room, d.switch,
                       second_switch=d.second_switch if d.kind == "sos" else "",
                       hold_frames=bool(d.presses is not None and d.presses.long)) for d in cfg.devices]


def zigbee_specs(cfg: Config) -> list[ZigbeeDevice]:
    from drivers.zigbee2mqtt import ZigbeeDevice

    return [ZigbeeDevice(z.id, z.friendly_name, z.kind, z.room, tuple(z.help_actions), tuple(z.cancel_actions),
                         patterns=z.kind == "sos" and z.presses is not None)
            for z in cfg.zigbee_devices]


def zigbee_broker(cfg: Config) -> BrokerSettings:
    from drivers.zigbee2mqtt import BrokerSettings

    z = cfg.zigbee2mqtt
    return BrokerSettings(host=z.host, port=z.port, tls=z.tls, ca_file=z.ca_file, username=z.username,
                          password=z.password, base_topic=z.base_topic,
                          client_id=z.client_id or f"carehub-{cfg.site.id}-zigbee2mqtt")


def rtl433_specs(cfg: Config) -> list[Rtl433Device]:
    from drivers.rtl433 import Rtl433Device

    return [Rtl433Device(d.id, d.model, d.address, d.kind, d.room, d.channel, d.subtype, tuple(d.active_codes),
                         tuple(d.inactive_codes)) for d in cfg.rtl433_devices]


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
        from drivers.radar import RadarDriver, RadarGroup, RadarSpec

        return RadarGroup(
            RadarDriver(r.port, RadarSpec(r.id, r.model, r.room), hub.pipeline.submit, hub.clock.now,
                        baudrate=r.baudrate or None)
            for r in cfg.radars
        )

    def zigbee(cfg: Config) -> Zigbee2MqttDriver | None:
        if not cfg.zigbee2mqtt.enabled:
            return None
        from drivers.zigbee2mqtt import Zigbee2MqttDriver

        return Zigbee2MqttDriver(zigbee_broker(cfg), zigbee_specs(cfg), hub.pipeline.submit, hub.clock.now,
                                 on_heard=hub.on_heard, on_bridge_devices=hub.on_bridge_devices)

    def follow_zigbee_devices(driver: Component, cfg: Config) -> None:
        from drivers.zigbee2mqtt import Zigbee2MqttDriver

        if isinstance(driver, Zigbee2MqttDriver):
            driver.update_devices(zigbee_specs(cfg))

    def rtl433(cfg: Config) -> Rtl433Driver | None:
        r = cfg.rtl433
        if not r.enabled:
            return None
        from drivers.rtl433 import MqttSource, Rtl433Driver

        source = None
        if r.source == "mqtt":
            source = MqttSource(host=r.host, port=r.port, tls=r.tls, ca_file=r.ca_file, username=r.username,
                                password=r.password, topic=r.topic, client_id=f"carehub-{cfg.site.id}-rtl433")
        return Rtl433Driver(rtl433_specs(cfg), hub.pipeline.submit, hub.clock.now, command=r.command,
                            mqtt_source=source, on_heard=hub.on_heard)

    def follow_rtl433_devices(driver: Component, cfg: Config) -> None:
        from drivers.rtl433 import Rtl433Driver

        if isinstance(driver, Rtl433Driver):
            driver.update_devices(rtl433_specs(cfg))

    def second_path(cfg: Config) -> SecondPath | None:
        if not cfg.second_path.enabled:
            return None
        from gateway.paths.wiring import second_path_for

        return second_path_for(hub, cfg)

    def power(cfg: Config) -> PowerMonitor | None:
        if not cfg.power.enabled:
            return None
        from gateway.power import PowerMonitor
        from gateway.topics import Topics

        return PowerMonitor(cfg.power, hub.store, Topics.for_site(cfg.platform.base_topic, cfg.site.id), cfg.site.id,
                            hub.clock, lambda: hub.uplink.wake())

    return [
        ComponentSpec("power", owns=lambda c: (c.power, c.site.id, c.platform.base_topic), build=power),
        ComponentSpec("second_path", owns=lambda c: (c.second_path, c.site), build=second_path),
        ComponentSpec("radar", owns=lambda c: c.radars, build=radars),
        ComponentSpec("rtl433", owns=lambda c: (c.rtl433, c.site.id), build=rtl433, update=follow_rtl433_devices),
        ComponentSpec("zigbee2mqtt", owns=lambda c: (c.zigbee2mqtt, c.site.id), build=zigbee,
                      update=follow_zigbee_devices),
        ComponentSpec("rflink", owns=lambda c: c.rflink, build=rflink, update=follow_devices),
        ComponentSpec("ble", owns=lambda c: (c.ble, c.wearables), build=ble),
        ComponentSpec("web", owns=lambda c: c.web, live=False,
                      build=lambda c: WebComponent(hub) if c.web.enabled else None),
    ]
