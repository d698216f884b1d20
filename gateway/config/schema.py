"""The one typed configuration schema.

The TOML file, the technician's web form and remote ``request/config`` commands
are all validated here, so that an error always names the exact key path, the
bad value and what is allowed. Sections are frozen dataclasses; constraints and
help texts live in field metadata (``opt(...)``) where the web page can read
them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gateway.config.buttons import ButtonsConfig, PressMapConfig
from gateway.config.fields import CLIENT_ID_PATTERN, HOST_PATTERN, TOPIC_PATTERN, opt
from gateway.config.fields import ID_PATTERN as ID_PATTERN
from gateway.config.fields import ROOM_PATTERN as ROOM_PATTERN
from gateway.config.fields import TLS_PORT as TLS_PORT
from gateway.config.fields import RflinkKind as RflinkKind
from gateway.config.power import PowerConfig as PowerConfig
from gateway.config.second_path import SecondPathConfig
from gateway.config.sensors import RadarConfig as RadarConfig
from gateway.config.sensors import Rtl433Config as Rtl433Config
from gateway.config.sensors import Rtl433DeviceConfig as Rtl433DeviceConfig
from gateway.config.sensors import Zigbee2MqttConfig as Zigbee2MqttConfig
from gateway.config.sensors import ZigbeeDeviceConfig as ZigbeeDeviceConfig


@dataclass(frozen=True)
class SiteConfig:
    id: str = opt("demo-site", help="Site id used in MQTT topics", pattern=ID_PATTERN)
    name: str = opt("", help="Human name of the home (shown on the page)")


@dataclass(frozen=True)
class PlatformConfig:
    host: str = opt("127.0.0.1", help="MQTT broker host name or address", pattern=HOST_PATTERN)
    port: int = opt(1883, help="MQTT broker port (default 8883 with TLS)", min=1, max=65535)
    protocol: Literal["3.1.1", "5"] = opt("5", help="MQTT protocol version")
    client_id: str = opt("", help="MQTT client id (default: carehub-<site id>)", pattern=CLIENT_ID_PATTERN)
    username: str = opt("", help="Broker user name (empty: none)")
    password: str = opt("", help="Broker password", secret=True)
    tls: bool = opt(False, help="Connect with TLS (default: on for any broker that is not on this machine)")
    ca_file: str = opt("", help="CA certificate file (PEM) for TLS; empty: system CAs")
    cert_file: str = opt("", help="Client certificate (PEM) for mutual TLS")
    key_file: str = opt("", help="Client private key (PEM) for mutual TLS")
    base_topic: str = opt("carehub/v1", help="Topic prefix; the site id is appended", pattern=TOPIC_PATTERN)
    keepalive_s: int = opt(30, help="MQTT keepalive", min=5, max=3600, unit="s")
    health_interval_s: float = opt(60.0, help="Period of health messages", min=5, max=3600, unit="s")
    reconnect_min_s: float = opt(1.0, help="First reconnect delay", min=0.1, max=60, unit="s")
    reconnect_max_s: float = opt(60.0, help="Longest reconnect delay", min=1, max=3600, unit="s")
    switch_timeout_s: float = opt(
        60.0, help="New broker settings that have not connected within this time are undone and the "
        "previous ones kept", min=5, max=600, unit="s",
    )
    # Fleet behaviour (docs/fleet.md): thousands of hubs that boot together after a power cut.
    boot_spread_s: float = opt(
        120.0, help="After a boot, the first connection waits a delay derived from the site id, spread over "
        "this window (0: connect at once); an emergency or urgent alert skips it", min=0, max=3600, unit="s",
    )
    health_expiry_s: float = opt(
        180.0, help="MQTT 5 message expiry of health messages (0: none); never on alerts", min=0,
        max=7 * 86400, unit="s",
    )
    availability_expiry_s: float = opt(
        86400.0, help="MQTT 5 message expiry of retained device availability, refreshed at half this "
        "(0: none)", min=0, max=30 * 86400, unit="s",
    )
    notice_expiry_s: float = opt(
        7 * 86400.0, help="MQTT 5 message expiry of wellbeing and info notices, which need no acknowledgement "
        "(0: none); never on alerts that wait for one", min=0, max=30 * 86400, unit="s",
    )


@dataclass(frozen=True)
class AlertConfig:
    ack_timeout_s: float = opt(
        60.0, help="Re-send with the next escalation level when the platform has not "
        "acknowledged within this time", min=1, max=3600, unit="s",
    )
    max_escalation_level: int = opt(
        3, help="Highest escalation level; re-sends continue at this level", min=0, max=10
    )
    help_repeat_window_s: float = opt(
        120.0, help="Presses of the same button within this time of the previous one, "
        "while its alert is open, are counted into that alert instead of raising another",
        min=0, max=3600, unit="s",
    )
    historical_after_s: float = opt(
        30.0, help="Alerts first published later than this after detection are "
        "flagged historical", min=1, max=86400, unit="s",
    )


@dataclass(frozen=True)
class StorageConfig:
    path: str = opt("/var/lib/carehub/carehub.db", help="SQLite database (alerts, outbox, baselines)")
    journal_days: int = opt(30, help="Days of observations kept in the journal", min=1, max=365, unit="d")




@dataclass(frozen=True)
class RflinkConfig:
    enabled: bool = opt(False, help="Read a 433 MHz RFLink gateway")
    port: str = opt(
        "/dev/serial/by-id/usb-RFLink", help="Serial port; prefer a /dev/serial/by-id/ path"
    )
    baudrate: int = opt(57600, help="RFLink serial speed", min=1200, max=921600)
    reopen_min_s: float = opt(0.5, help="First delay before reopening a lost port", min=0.05, max=60, unit="s")
    reopen_max_s: float = opt(30.0, help="Longest delay between reopen attempts", min=0.1, max=3600, unit="s")


@dataclass(frozen=True)
class RflinkDevice:
    id: str = opt(help="Device id used in alerts and topics", pattern=ID_PATTERN)
    protocol: str = opt(help="RFLink protocol name as the gateway prints it (e.g. EV1527)")
    address: str = opt(help="RFLink ID= value (hex)", pattern=r"^[0-9A-Fa-f]{1,8}$")
    kind: RflinkKind = opt(help="What the device is")
    room: str = opt("other", help="Room the device is in", pattern=ROOM_PATTERN)
    switch: str = opt("", help="RFLink SWITCH= value; empty matches any", pattern=r"^[0-9A-Za-z]{0,4}$")
    name: str = opt("", help="Human name")
    offline_after_s: float = opt(
        0.0, help="Raise a technical alert when not heard for this long (0: never; most "
        "433 MHz sensors only send on activity)", min=0, max=30 * 86400, unit="s",
    )
    presses: PressMapConfig | None = opt(
        None, help="A button's press patterns and what each asks for (empty: every press an emergency)"
    )
    second_switch: str = opt(
        "", help="The second button of this code: its SWITCH= value, or 'off' for this code's CMD=OFF (empty: none)",
        pattern=r"^[0-9A-Za-z]{0,4}$",
    )


Placement = Literal["waist", "neck", "wrist"]
WearableProfile = Literal["carehub", "heart_rate", "pinetime", "microbit",
                          "pulse_oximeter", "thermometer", "blood_pressure", "weight_scale"]
# Home measuring devices: connected when they advertise after a measurement, so never "offline".
METER_PROFILES = ("pulse_oximeter", "thermometer", "blood_pressure", "weight_scale")


@dataclass(frozen=True)
class WearableConfig:
    id: str = opt(help="Wearable id used in alerts and topics", pattern=ID_PATTERN)
    address: str = opt(help="Bluetooth address", pattern=r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
    profile: WearableProfile = opt("carehub", help="Which GATT profile the wearable speaks")
    placement: Placement = opt("wrist", help="Where it is worn")
    name: str = opt("", help="Human name")
    # None (absent from the file, empty on the page): the wearable follows
    # detection.fall.cancel_window_s, so that one setting changes every such wearable.
    cancel_window_s: float | None = opt(
        None, help="Time the wearer has to cancel a detected fall (empty: detection.fall.cancel_window_s)",
        min=0, max=300, unit="s",
    )
    offline_after_s: float = opt(
        600.0, help="Technical alert when not heard for this long", min=30, max=86400, unit="s"
    )
    presses: PressMapConfig | None = opt(
        None, help="The wearable button's press patterns and what each asks for (empty: every press an emergency)"
    )


@dataclass(frozen=True)
class BleConfig:
    enabled: bool = opt(False, help="Connect to the configured wearables over Bluetooth LE")
    adapter: str = opt("hci0", help="BlueZ adapter", pattern=r"^hci[0-9]{1,2}$")
    emulator_socket: str = opt(
        "", help="Use emulated wearables at this Unix socket instead of BlueZ (demo and tests; empty: BlueZ)"
    )




@dataclass(frozen=True)
class FallConfig:
    enabled: bool = opt(True, help="Detect falls from wearable accelerometers")
    cancel_window_s: float = opt(
        30.0, help="Time to cancel a fall, for every wearable without a cancel_window_s of its own",
        min=0, max=300, unit="s",
    )


@dataclass(frozen=True)
class HomeConfig:
    enabled: bool = opt(True, help="Watch the home's sensors for inactivity and routine changes")
    inactivity_floor_min: float = opt(
        45.0, help="Never raise inactivity sooner than this after the last sign of life, whatever was learned",
        min=10, max=24 * 60, unit="min",
    )
    inactivity_ceiling_min: float = opt(
        240.0, help="Always raise inactivity (awake, at home) by this much silence, whatever was learned",
        min=30, max=24 * 60, unit="min",
    )
    sleep_ceiling_min: float = opt(
        720.0, help="Longest silence in bed or at night before raising, whatever was learned",
        min=60, max=24 * 60, unit="min",
    )
    quiet_hours: str = opt(
        "", help="Hours when inactivity is never raised, e.g. '13-15' for a daily nap (empty: none)",
        pattern=r"^$|^([01]?[0-9]|2[0-3])-([01]?[0-9]|2[0-4])$",
    )
    dwell_rooms: list[str] = opt(
        default_factory=lambda: ["bathroom"], help="Rooms where a person may be stuck (shorter limits)"
    )
    dwell_floor_min: float = opt(
        25.0, help="Never raise a room dwell sooner than this", min=5, max=600, unit="min"
    )
    dwell_ceiling_min: float = opt(
        60.0, help="Always raise a room dwell by this much silence", min=10, max=600, unit="min"
    )
    night_start_hour: int = opt(22, help="Night begins (hour, local time)", min=0, max=23)
    night_end_hour: int = opt(6, help="Night ends (hour, local time)", min=0, max=23)
    wake_margin_min: float = opt(
        90.0, help="Raise 'no sign of getting up' this long after the latest usual wake-up time",
        min=15, max=600, unit="min",
    )
    night_door_severity: Literal["urgent", "wellbeing"] = opt(
        "urgent", help="Severity of night wandering: the entrance door opening at night with nobody back "
        "inside, or out of bed at night far longer than usual"
    )
    night_out_min: float = opt(
        20.0, help="After a night-time door opening, how long without anyone back inside before raising",
        min=1, max=240, unit="min",
    )
    wellbeing_notices: bool = opt(True, help="Send daily routine-change notices (activity, sleep, bathroom...)")
    away_after_min: float = opt(
        10.0, help="After the entrance door, this much silence means the person went out", min=1, max=120,
        unit="min",
    )


@dataclass(frozen=True)
class VitalsConfig:
    enabled: bool = opt(True, help="Judge the vital signs of health watches and home measuring devices "
                        "(docs/vitals.md)")
    hr_low_bpm: float = opt(40.0, help="Urgent: heart rate at rest sustained below this", min=25, max=60,
                            unit="bpm")
    hr_high_bpm: float = opt(130.0, help="Urgent: heart rate at rest sustained above this", min=90, max=220,
                             unit="bpm")
    hr_sustain_min: float = opt(10.0, help="How long a heart rate must stay beyond its bounds", min=2, max=120,
                                unit="min")
    spo2_low_pct: float = opt(88.0, help="Urgent: oxygen saturation sustained below this", min=70, max=95,
                              unit="%")
    spo2_sustain_min: float = opt(10.0, help="How long oxygen saturation must stay low", min=1, max=120,
                                  unit="min")
    fever_c: float = opt(38.0, help="Wellbeing notice: body temperature at or above this", min=37, max=40,
                         unit="°C")
    bp_systolic_urgent: float = opt(180.0, help="Urgent: systolic blood pressure at or above this", min=140,
                                    max=250, unit="mmHg")
    bp_diastolic_urgent: float = opt(120.0, help="Urgent: diastolic blood pressure at or above this", min=90,
                                     max=150, unit="mmHg")
    bp_systolic_low_urgent: float = opt(80.0, help="Urgent: systolic blood pressure at or below this", min=60,
                                        max=110, unit="mmHg")
    weight_change_kg: float = opt(2.0, help="Wellbeing notice: weight gained or lost within weight_days",
                                  min=0.5, max=10, unit="kg")
    weight_days: int = opt(3, help="Days over which a weight change counts as sudden", min=1, max=14, unit="d")
    user_id: int = opt(-1, help="The resident's user number on shared cuffs and scales (-1: any)", min=-1,
                       max=254)
    not_worn_after_h: float = opt(4.0, help="Technical alert when a wearable is off the body this long in "
                                  "waking hours", min=0.5, max=24, unit="h")
    waking_hours: str = opt("07-22", help="Usual waking hours until learned from the home's motion sensors",
                            pattern=r"^([01]?[0-9]|2[0-3])-([01]?[0-9]|2[0-4])$")


@dataclass(frozen=True)
class DetectionConfig:
    fall: FallConfig = field(default_factory=FallConfig)
    home: HomeConfig = field(default_factory=HomeConfig)
    vitals: VitalsConfig = field(default_factory=VitalsConfig)


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = opt(True, help="Serve the technician's page (install, pair and tune the hub from a phone)")
    bind: str = opt(
        "lan", help="Where the page listens: 'lan' (every interface, but only answers loopback and private "
        "LAN addresses) or one loopback or private IP address; a public address is refused",
    )
    port: int = opt(8080, help="TCP port of the page", min=1, max=65535)
    https: bool = opt(False, help="Serve HTTPS with a self-signed certificate made on first start")
    session_idle_min: float = opt(
        60.0, help="A technician's login ends after this long without using the page", min=5, max=24 * 60,
        unit="min",
    )


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = opt("info", help="Log level")


@dataclass(frozen=True)
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    rflink: RflinkConfig = field(default_factory=RflinkConfig)
    ble: BleConfig = field(default_factory=BleConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    web: WebConfig = field(default_factory=WebConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    devices: list[RflinkDevice] = field(default_factory=list)
    wearables: list[WearableConfig] = field(default_factory=list)
    radars: list[RadarConfig] = field(default_factory=list)
    zigbee2mqtt: Zigbee2MqttConfig = field(default_factory=Zigbee2MqttConfig)
    zigbee_devices: list[ZigbeeDeviceConfig] = field(default_factory=list)
    rtl433: Rtl433Config = field(default_factory=Rtl433Config)
    rtl433_devices: list[Rtl433DeviceConfig] = field(default_factory=list)
    power: PowerConfig = field(default_factory=PowerConfig)
    buttons: ButtonsConfig = field(default_factory=ButtonsConfig)
    second_path: SecondPathConfig = field(default_factory=SecondPathConfig)
