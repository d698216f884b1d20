"""Config sections of the optional sensor families: mmWave radars, Zigbee2MQTT, rtl_433."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.config.buttons import PressMapConfig
from gateway.config.fields import (
    CLIENT_ID_PATTERN,
    HOST_PATTERN,
    ID_PATTERN,
    ROOM_PATTERN,
    TOPIC_PATTERN,
    RflinkKind,
    opt,
)

RadarModel = Literal["ld2410", "mr60fda2"]


@dataclass(frozen=True)
class RadarConfig:
    id: str = opt(help="Radar id used in alerts and topics", pattern=ID_PATTERN)
    model: RadarModel = opt(
        help="ld2410: Hi-Link presence (moving / still), 256000 baud; mr60fda2: Seeed presence and fall, 115200 baud"
    )
    port: str = opt(help="Serial port; prefer a /dev/serial/by-id/ path")
    room: str = opt("other", help="Room the radar watches", pattern=ROOM_PATTERN)
    name: str = opt("", help="Human name")
    baudrate: int = opt(0, help="Serial speed (0: the model's default)", min=0, max=921600)
    cancel_window_s: float | None = opt(
        None, help="A fall this radar reports is held this long before it is raised (empty: "
        "detection.fall.cancel_window_s)", min=0, max=300, unit="s",
    )
    offline_after_s: float = opt(
        300.0, help="Technical alert when the radar has not been heard for this long (it reports at least "
        "once a minute)", min=0, max=86400, unit="s",
    )
    still_alert_min: float | None = opt(
        None, help="Raise room_dwell (inactivity outside the dwell rooms) when the radar sees someone present "
        "and still this long (empty: learned by the home monitor, 25 to 30 min in the dwell rooms; 0: this "
        "radar's stillness is not used, its empty room still is)", min=0, max=600, unit="min",
    )


@dataclass(frozen=True)
class Zigbee2MqttConfig:
    enabled: bool = opt(False, help="Read Zigbee sensors from a Zigbee2MQTT instance's MQTT broker")
    host: str = opt("127.0.0.1", help="Zigbee2MQTT's broker (often a local mosquitto)", pattern=HOST_PATTERN)
    port: int = opt(1883, help="Broker port", min=1, max=65535)
    tls: bool = opt(False, help="Connect with TLS")
    ca_file: str = opt("", help="CA certificate file (PEM) for TLS; empty: system CAs")
    username: str = opt("", help="Broker user name (empty: none)")
    password: str = opt("", help="Broker password", secret=True)
    base_topic: str = opt("zigbee2mqtt", help="Zigbee2MQTT's base_topic", pattern=TOPIC_PATTERN)
    client_id: str = opt("", help="MQTT client id (default: carehub-<site id>-zigbee2mqtt)",
                         pattern=CLIENT_ID_PATTERN)


ZigbeeKind = Literal["pir", "door", "sos", "bed", "seat", "presence", "toilet_flush", "cabinet", "fridge",
                     "other"]


@dataclass(frozen=True)
class ZigbeeDeviceConfig:
    id: str = opt(help="Device id used in alerts and topics", pattern=ID_PATTERN)
    friendly_name: str = opt(help="The device's friendly_name in Zigbee2MQTT (its topic)",
                             pattern=r"^[^#+/\x00-\x1f][^#+\x00-\x1f]{0,119}$")
    kind: ZigbeeKind = opt(help="What the device is (presence: a Zigbee presence radar)")
    room: str = opt("other", help="Room the device is in", pattern=ROOM_PATTERN)
    name: str = opt("", help="Human name")
    help_actions: list[str] = opt(default_factory=lambda: ["emergency", "sos", "panic"],
                                  help="'action' values that are a help call")
    cancel_actions: list[str] = opt(default_factory=list, help="'action' values that mean 'I am fine'")
    presses: PressMapConfig | None = opt(
        None, help="What the button's single, double and long presses (its 'action') and its second button ask "
        "for (empty: only help_actions, each an emergency)"
    )
    offline_after_s: float = opt(
        0.0, help="Technical alert when not heard for this long (0: never; most Zigbee sensors report at "
        "least every few hours)", min=0, max=30 * 86400, unit="s",
    )


@dataclass(frozen=True)
class Rtl433Config:
    enabled: bool = opt(False, help="Read 433 MHz sensors decoded by rtl_433 (an SDR dongle)")
    source: Literal["process", "mqtt"] = opt(
        "process", help="process: run rtl_433 and read its JSON; mqtt: subscribe to a running rtl_433's events"
    )
    command: list[str] = opt(default_factory=lambda: ["rtl_433", "-F", "json"],
                             help="The rtl_433 command line (process), restarted whenever it exits")
    host: str = opt("127.0.0.1", help="Broker of rtl_433's MQTT output (mqtt)", pattern=HOST_PATTERN)
    port: int = opt(1883, help="Broker port (mqtt)", min=1, max=65535)
    tls: bool = opt(False, help="Connect with TLS (mqtt)")
    ca_file: str = opt("", help="CA certificate file (PEM) for TLS; empty: system CAs")
    username: str = opt("", help="Broker user name (empty: none)")
    password: str = opt("", help="Broker password", secret=True)
    topic: str = opt("rtl_433/+/events", help="rtl_433's events topic (mqtt; + matches the host name)",
                     pattern=r"^[A-Za-z0-9_.+-]{1,64}(/[A-Za-z0-9_.+-]{1,64}){0,7}$")


@dataclass(frozen=True)
class Rtl433DeviceConfig:
    id: str = opt(help="Device id used in alerts and topics", pattern=ID_PATTERN)
    model: str = opt(help="rtl_433's model, e.g. Kerui-Security, Generic-Remote", pattern=r"^[^\x00-\x1f]{1,64}$")
    address: str = opt(help="rtl_433's id, as it prints it", pattern=r"^[A-Za-z0-9x_.:-]{1,32}$")
    kind: RflinkKind = opt(help="What the device is")
    channel: str = opt("", help="rtl_433's channel (empty: any)", pattern=r"^[A-Za-z0-9]{0,8}$")
    subtype: str = opt("", help="rtl_433's subtype (empty: any)", pattern=r"^[A-Za-z0-9]{0,8}$")
    room: str = opt("other", help="Room the device is in", pattern=ROOM_PATTERN)
    name: str = opt("", help="Human name")
    active_codes: list[str] = opt(default_factory=list,
                                  help="cmd or tristate values sent when active (open, motion, pressed); "
                                  "empty: read the decoder's own fields, or any code is active")
    inactive_codes: list[str] = opt(default_factory=list, help="cmd or tristate values sent when inactive (closed)")
    offline_after_s: float = opt(
        0.0, help="Technical alert when not heard for this long (0: never)", min=0, max=30 * 86400, unit="s",
    )
