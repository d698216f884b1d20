"""The one typed configuration schema.

The TOML file, the technician's web form and remote ``request/config`` commands
are all validated here, so that an error always names the exact key path, the
bad value and what is allowed. Sections are frozen dataclasses; constraints and
help texts live in field metadata (``opt(...)``) where the web page can read
them too.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

ROOM_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# A DNS name or an IPv4/IPv6 literal: nothing a URL, a space or a port could hide in.
HOST_PATTERN = r"^(\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?)$"
# MQTT topic levels without wildcards (+, #), empty levels or a leading $ (broker-internal).
TOPIC_PATTERN = r"^[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,7}$"
CLIENT_ID_PATTERN = r"^$|^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
TLS_PORT = 8883


def opt(
    default: Any = dataclasses.MISSING,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    pattern: str | None = None,
    secret: bool = False,
    unit: str | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A schema field: a default plus the constraints shown in every error."""
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "pattern": pattern,
        "secret": secret,
        "unit": unit,
    }
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


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


RflinkKind = Literal["pir", "door", "sos", "bed", "seat", "toilet_flush", "cabinet", "fridge", "other"]


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


Placement = Literal["waist", "neck", "wrist"]
WearableProfile = Literal["carehub", "heart_rate", "pinetime", "microbit"]


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
class DetectionConfig:
    fall: FallConfig = field(default_factory=FallConfig)
    home: HomeConfig = field(default_factory=HomeConfig)


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


# --- validation -----------------------------------------------------------------


class ConfigError(ValueError):
    """A config value is wrong. ``errors`` holds every problem found, not just the first."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class FieldError:
    path: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.path} = {self.value!r} is not allowed: {self.allowed}"


_MISSING_VALUE = "<missing>"


def _type_name(tp: Any) -> str:
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    return getattr(tp, "__name__", str(tp))


def _constraint_text(tp: Any, meta: typing.Mapping[str, Any]) -> str:
    parts = [_type_name(tp)]
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        parts.append(f"from {lo:g} to {hi:g}")
    elif lo is not None:
        parts.append(f"at least {lo:g}")
    elif hi is not None:
        parts.append(f"at most {hi:g}")
    if meta.get("pattern"):
        parts.append(f"matching {meta['pattern']}")
    if meta.get("unit"):
        parts.append(f"(unit: {meta['unit']})")
    return " ".join(parts)


def _coerce_scalar(
    tp: Any, value: Any, path: str, meta: typing.Mapping[str, Any], errors: list[FieldError]
) -> Any:
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value in choices:
            return value
        # TOML has no way to say "5" vs 5 that a technician would notice.
        if isinstance(value, int | float) and str(value) in choices:
            return str(value)
        errors.append(FieldError(path, value, "one of " + ", ".join(repr(c) for c in choices)))
        return None
    if tp is bool:
        if isinstance(value, bool):
            return value
        errors.append(FieldError(path, value, "true or false"))
        return None
    if tp in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and tp is int and isinstance(value, float):
            ok = value.is_integer()
        if not ok:
            errors.append(FieldError(path, value, _constraint_text(tp, meta)))
            return None
        value = tp(value)
        lo, hi = meta.get("min"), meta.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            errors.append(FieldError(path, value, _constraint_text(tp, meta)))
            return None
        return value
    if tp is str:
        if not isinstance(value, str):
            errors.append(FieldError(path, value, _constraint_text(tp, meta)))
            return None
        if len(value) > 4096 or "\x00" in value:
            errors.append(FieldError(path, value[:40] + "...", "a string of at most 4096 characters"))
            return None
        pattern = meta.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            errors.append(FieldError(path, value, _constraint_text(tp, meta)))
            return None
        return value
    raise TypeError(f"schema type {tp!r} at {path} is not supported")


def _build(cls: type, data: Any, path: str, errors: list[FieldError]) -> Any:
    if not isinstance(data, dict):
        errors.append(FieldError(path or "<root>", data, "a table of settings"))
        return cls() if _all_defaulted(cls) else None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            errors.append(
                FieldError(_join(path, key), data[key], "a known key: " + ", ".join(fields))
            )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        sub = _join(path, name)
        tp = hints[name]
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                errors.append(FieldError(sub, _MISSING_VALUE, "required: " + f.metadata.get("help", "")))
            continue
        value = data[name]
        kwargs[name] = _value(tp, value, sub, f.metadata, errors)
    # Every value that failed added an error; None is a value only for an optional key.
    if errors:
        # Keep collecting errors in siblings, but never build a half-valid section.
        return None
    return cls(**kwargs)


def _value(tp: Any, value: Any, path: str, meta: typing.Mapping[str, Any], errors: list[FieldError]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, errors)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            errors.append(FieldError(path, value, "a list"))
            return None
        items = [_value(item_tp, v, f"{path}[{i}]", meta, errors) for i, v in enumerate(value)]
        return items
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _value(args[0], value, path, meta, errors)
    return _coerce_scalar(tp, value, path, meta, errors)


def _all_defaulted(cls: type) -> bool:
    return all(
        f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        for f in dataclasses.fields(cls)
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_cross_field(cfg: Config, errors: list[FieldError]) -> None:
    seen: dict[str, str] = {}
    for i, dev in enumerate(cfg.devices):
        if dev.id in seen:
            errors.append(FieldError(f"devices[{i}].id", dev.id, f"an id not already used by {seen[dev.id]}"))
        seen[dev.id] = f"devices[{i}]"
    for i, w in enumerate(cfg.wearables):
        if w.id in seen:
            errors.append(FieldError(f"wearables[{i}].id", w.id, f"an id not already used by {seen[w.id]}"))
        seen[w.id] = f"wearables[{i}]"
    signatures: dict[tuple[str, str, str], int] = {}
    for i, dev in enumerate(cfg.devices):
        sig = (dev.protocol.lower(), dev.address.lower().lstrip("0"), dev.switch.lower().lstrip("0"))
        if sig in signatures:
            errors.append(
                FieldError(
                    f"devices[{i}]", f"{dev.protocol} {dev.address} {dev.switch}".strip(),
                    f"a radio code not already used by devices[{signatures[sig]}]",
                )
            )
        signatures[sig] = i
    addresses: dict[str, int] = {}
    for i, w in enumerate(cfg.wearables):
        if w.address.upper() in addresses:
            errors.append(FieldError(f"wearables[{i}].address", w.address,
                                     f"an address not already used by wearables[{addresses[w.address.upper()]}]"))
        addresses[w.address.upper()] = i
    p = cfg.platform
    if p.reconnect_min_s > p.reconnect_max_s:
        errors.append(
            FieldError("platform.reconnect_min_s", p.reconnect_min_s, "at most platform.reconnect_max_s")
        )
    if bool(p.cert_file) != bool(p.key_file):
        errors.append(
            FieldError("platform.key_file" if p.cert_file else "platform.cert_file", "",
                       "cert_file and key_file are given together")
        )
    r = cfg.rflink
    if r.reopen_min_s > r.reopen_max_s:
        errors.append(FieldError("rflink.reopen_min_s", r.reopen_min_s, "at most rflink.reopen_max_s"))
    bind = cfg.web.bind
    if bind != "lan" and not is_lan_address(bind):
        errors.append(FieldError("web.bind", bind, "'lan', or a loopback or private (LAN) IP address"))


def is_lan_address(text: str) -> bool:
    """Loopback, private or link-local: an address the page may listen on or answer."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    # is_private alone also says True for reserved and documentation ranges; that is harmless here.
    if addr.is_unspecified:  # 0.0.0.0 and :: mean every interface, public ones included
        return False
    return addr.is_loopback or addr.is_private or addr.is_link_local


def _platform_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """TLS on 8883 unless asked otherwise, where the broker is not on this machine.

    Credentials and alerts must not cross a network in the clear by default; a
    broker on loopback (the demo, a local bridge) keeps the plain defaults.
    """
    platform = data.get("platform")
    if not isinstance(platform, dict) or not isinstance(platform.get("host"), str):
        return data
    if "tls" in platform and "port" in platform:
        return data
    platform = dict(platform)
    if "tls" not in platform and not is_loopback_host(platform["host"]):
        platform["tls"] = True
    if "port" not in platform and platform.get("tls") is True:
        platform["port"] = TLS_PORT
    return {**data, "platform": platform}


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate(data: dict[str, Any]) -> Config:
    """Build a Config from plain data (parsed TOML, a form, a command), or raise ConfigError."""
    errors: list[FieldError] = []
    if isinstance(data, dict):
        data = _platform_defaults(data)
    cfg = _build(Config, data, "", errors)
    if cfg is not None:
        _check_cross_field(cfg, errors)
    if errors or cfg is None:
        raise ConfigError(errors)
    return cfg


def to_data(cfg: Any) -> Any:
    """Plain data (TOML-writable) for a config or any section of it."""
    if dataclasses.is_dataclass(cfg):
        # TOML has no null: an unset optional key is simply absent.
        return {f.name: to_data(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)
                if getattr(cfg, f.name) is not None}
    if isinstance(cfg, list):
        return [to_data(v) for v in cfg]
    return cfg


def secret_paths(cls: type = Config, prefix: str = "") -> set[str]:
    """Key paths whose values must never be logged or shown."""
    out: set[str] = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = _join(prefix, f.name)
        if dataclasses.is_dataclass(tp):
            out |= secret_paths(tp, path)
        elif f.metadata.get("secret"):
            out.add(path)
    return out
