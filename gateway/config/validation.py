"""Validation of plain data (TOML, a form, a command) against the schema (gateway/config/schema.py).

Every problem is collected, not just the first, and each names the exact key path,
the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
import types
import typing
from typing import Any, Literal

from gateway.config.buttons import button_problems
from gateway.config.consistency import check_consistency
from gateway.config.errors import ConfigError as ConfigError
from gateway.config.errors import FieldError as FieldError
from gateway.config.schema import TLS_PORT, Config
from gateway.config.second_path import second_path_errors

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
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            errors.append(
                FieldError(_join(path, key), data[key], "a known key" + ("" if close else ": " + ", ".join(fields)),
                           hint=f"did you mean {_join(path, close[0])}?" if close else "")
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
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
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
    for i, radar in enumerate(cfg.radars):
        if radar.id in seen:
            errors.append(FieldError(f"radars[{i}].id", radar.id, f"an id not already used by {seen[radar.id]}"))
        seen[radar.id] = f"radars[{i}]"
    names: dict[str, int] = {}
    for i, z in enumerate(cfg.zigbee_devices):
        if z.id in seen:
            errors.append(FieldError(f"zigbee_devices[{i}].id", z.id, f"an id not already used by {seen[z.id]}"))
        seen[z.id] = f"zigbee_devices[{i}]"
        if z.friendly_name in names:
            errors.append(FieldError(f"zigbee_devices[{i}].friendly_name", z.friendly_name,
                                     f"a friendly_name not already used by zigbee_devices[{names[z.friendly_name]}]"))
        names[z.friendly_name] = i
    for i, r433 in enumerate(cfg.rtl433_devices):
        if r433.id in seen:
            errors.append(FieldError(f"rtl433_devices[{i}].id", r433.id, f"an id not already used by {seen[r433.id]}"))
        seen[r433.id] = f"rtl433_devices[{i}]"
    if cfg.rtl433.enabled and cfg.rtl433.source == "process" and not cfg.rtl433.command:
        errors.append(FieldError("rtl433.command", [], "a command line, e.g. ['rtl_433', '-F', 'json']"))
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
    check_consistency(cfg, errors)
    p = cfg.platform
    if bool(p.cert_file) != bool(p.key_file):
        errors.append(
            FieldError("platform.key_file" if p.cert_file else "platform.cert_file", "",
                       "cert_file and key_file are given together")
        )
    errors += second_path_errors(cfg.second_path)
    errors += [FieldError(path, value, allowed) for path, value, allowed in button_problems(cfg)]
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
    if errors or not isinstance(cfg, Config):
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
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out |= secret_paths(tp, path)
        elif f.metadata.get("secret"):
            out.add(path)
    return out
