"""Forms rendered from the one config schema, and form posts turned back into config changes.

A field is named by its key path in the TOML file (``detection.home.quiet_hours``).
Its input type, limits, unit and choices come from the schema's metadata, and
a post is validated by ``gateway.config.merge``, the same code that checks the
file at start-up; errors come back keyed by the same paths, next to the field.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from gateway.config import Config, ConfigError, FieldError, merge
from gateway.config.schema import RflinkDevice, WearableConfig
from gateway.config.sensors import RadarConfig, Rtl433DeviceConfig, ZigbeeDeviceConfig
from gateway.config.validation import secret_paths
from gateway.web.rooms import NEW_ROOM, room_id

FieldKind = Literal["bool", "int", "float", "choice", "text", "secret", "room", "list"]
# The config's lists of devices, each item with an id: what the page adds, edits and removes.
DeviceSection = Literal["devices", "wearables", "radars", "zigbee_devices", "rtl433_devices"]


@dataclass(frozen=True)
class FormField:
    path: str  # key path in the file; for list items, relative to the item ("room")
    kind: FieldKind
    default: Any
    min: float | None
    max: float | None
    unit: str | None
    choices: tuple[str, ...]
    pattern: str | None
    optional: bool = False  # empty means unset (a wearable's own value follows the global one)

    @property
    def name(self) -> str:
        return self.path

    @property
    def dom_id(self) -> str:
        return "f-" + self.path.replace(".", "-").replace("_", "-")

    @property
    def step(self) -> str:
        return "1" if self.kind == "int" else "any"


def _field_of(cls: type, dotted: str) -> tuple[Any, dataclasses.Field[Any]]:
    parts = dotted.split(".")
    for part in parts[:-1]:
        cls = typing.get_type_hints(cls)[part]
        cls = next((a for a in typing.get_args(cls) if a is not type(None)), cls)  # an optional table (presses)
    hints = typing.get_type_hints(cls)
    f = {f.name: f for f in dataclasses.fields(cls)}[parts[-1]]
    return hints[parts[-1]], f


def form_field(path: str, root: type = Config) -> FormField:
    tp, f = _field_of(root, path)
    meta = f.metadata
    choices: tuple[str, ...] = ()
    kind: FieldKind
    optional = typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)
    if optional:
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is Literal:
        kind = "choice"
        choices = tuple(str(c) for c in typing.get_args(tp))
    elif tp is bool:
        kind = "bool"
    elif tp is int:
        kind = "int"
    elif tp is float:
        kind = "float"
    elif typing.get_origin(tp) is list:
        kind = "list"  # of short texts (codes, action names): typed as "10, 14"
    elif path.split(".")[-1] == "room":
        kind = "room"  # chosen from the known rooms, or a new one typed in words
    elif meta.get("secret"):
        kind = "secret"
    else:
        kind = "text"
    default = f.default if f.default is not dataclasses.MISSING else None
    if f.default_factory is not dataclasses.MISSING:
        # A new Zigbee button's form must show its help actions, or a save would leave it with none.
        default = f.default_factory()
    return FormField(path, kind, default, meta.get("min"), meta.get("max"), meta.get("unit"), choices,
                     meta.get("pattern"), optional)


DETECTION_FIELDS = [form_field(p) for p in (
    "detection.home.enabled",
    "detection.home.inactivity_floor_min",
    "detection.home.inactivity_ceiling_min",
    "detection.home.sleep_ceiling_min",
    "detection.home.quiet_hours",
    "detection.home.dwell_floor_min",
    "detection.home.dwell_ceiling_min",
    "detection.home.night_start_hour",
    "detection.home.night_end_hour",
    "detection.home.wake_margin_min",
    "detection.home.night_out_min",
    "detection.home.night_door_severity",
    "detection.home.wellbeing_notices",
    "detection.fall.enabled",
    "detection.fall.cancel_window_s",
    "alerts.ack_timeout_s",
)]

PLATFORM_FIELDS = [form_field(p) for p in (
    "site.id",
    "site.name",
    "platform.host",
    "platform.port",
    "platform.protocol",
    "platform.tls",
    "platform.username",
    "platform.password",
    "platform.base_topic",
)]

RADIO_FIELDS = [form_field(p) for p in ("rflink.enabled", "rflink.port", "ble.enabled", "ble.adapter")]

# A button's press patterns (docs/alerts.md): all four left empty means "no map", every press an emergency.
PRESS_FIELDS = ("presses.single", "presses.double", "presses.long", "presses.second")

DEVICE_FIELDS = [form_field(p, RflinkDevice) for p in (
    "id", "name", "room", "kind", "protocol", "address", "switch", "offline_after_s",
    *PRESS_FIELDS, "second_switch",
)]

WEARABLE_FIELDS = [form_field(p, WearableConfig) for p in (
    "id", "name", "address", "profile", "placement", "cancel_window_s", *PRESS_FIELDS,
)]

ZIGBEE_FIELDS = [form_field(p, ZigbeeDeviceConfig) for p in (
    "id", "name", "room", "kind", "friendly_name", "help_actions", "cancel_actions", "offline_after_s",
    *PRESS_FIELDS,
)]

RTL433_FIELDS = [form_field(p, Rtl433DeviceConfig) for p in (
    "id", "name", "room", "kind", "model", "address", "channel", "subtype", "active_codes", "inactive_codes",
    "offline_after_s",
)]

RADAR_FIELDS = [form_field(p, RadarConfig) for p in (
    "id", "name", "room", "model", "port", "still_alert_min", "cancel_window_s", "offline_after_s",
)]

SECRETS = secret_paths()

# The page's name for each kind of device (its form at /devices/<name>) -> the config's list.
SECTIONS: dict[str, DeviceSection] = {"sensor": "devices", "wearable": "wearables", "zigbee": "zigbee_devices",
                                      "rtl433": "rtl433_devices", "radar": "radars"}


class FormErrors(Exception):
    """Field path -> list of errors; nothing was saved."""

    def __init__(self, errors: dict[str, list[FieldError]], partial: dict[str, Any] | None = None) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        self.partial = partial  # the values that did parse, when some did not


def parse(fields: list[FormField], form: typing.Mapping[str, str], prefix: str = "") -> dict[str, Any]:
    """Form text -> nested plain data with typed values, or FormErrors for values that are not even numbers.

    A secret left empty means "keep the current one", so the page never has to
    send a password back to the browser.
    """
    out: dict[str, Any] = {}
    errors: dict[str, list[FieldError]] = {}
    for f in fields:
        raw = form.get(f.name)
        value: Any
        if f.kind == "bool":
            # An unticked checkbox sends nothing; only a form that showed the box may switch it off.
            if raw is None and f.name not in form.get("_bool", "").split(","):
                continue
            value = raw in ("on", "true", "1")
        elif raw is None:
            continue  # a field not posted keeps its value
        elif f.kind == "secret" and raw == "":
            continue
        elif f.optional and raw.strip() == "":
            value = None
        elif f.kind == "list":
            value = [part for part in raw.replace(",", " ").split() if part][:32]
        elif f.kind == "room":
            typed = form.get(f.name + NEW_ROOM, "").strip()
            value = room_id(typed) if typed or raw == NEW_ROOM else raw.strip()
            if value is None:
                errors.setdefault(f.path, []).append(FieldError(prefix + f.path, typed[:40], "a room name"))
                continue
        elif f.kind in ("int", "float"):
            text = raw.strip().replace(",", ".")
            try:
                number = float(text)
                if not math.isfinite(number):
                    raise ValueError(text)
                value = int(number) if f.kind == "int" and number.is_integer() else number
            except ValueError:
                errors.setdefault(f.path, []).append(FieldError(prefix + f.path, raw[:40], "a number"))
                continue
        else:
            value = raw.strip() if f.kind != "secret" else raw
        node = out
        parts = f.path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    if errors:
        raise FormErrors(errors, partial=out)
    return out


def apply(cfg: Config, changes: dict[str, Any]) -> Config:
    """Validate ``changes`` against the whole config; FormErrors keyed by key path."""
    try:
        return merge(cfg, changes)
    except ConfigError as exc:
        raise FormErrors(_group(exc.errors)) from None


def submit(cfg: Config, fields: list[FormField], form: typing.Mapping[str, str]) -> Config:
    """Parse and validate a posted form; every problem in it at once, each keyed by its field."""
    try:
        return apply(cfg, parse(fields, form))
    except FormErrors as exc:
        if exc.partial is None:
            raise
        # Some values were not even numbers: still check the rest, so all errors show together.
        errors = dict(exc.errors)
        try:
            apply(cfg, exc.partial)
        except FormErrors as more:
            for path, errs in more.errors.items():
                errors.setdefault(path, []).extend(errs)
        raise FormErrors(errors) from None


def with_item(cfg: Config, section: DeviceSection, item: dict[str, Any],
              replace_id: str | None) -> Config:
    """The config with one device added or replaced; errors keyed by the item's own field names."""
    data = [dataclasses.asdict(d) for d in getattr(cfg, section)]
    if isinstance(item.get("presses"), dict) and not any(item["presses"].values()):
        item = {**item, "presses": None}  # four empty fields: no press map, not a map of empties in the file
    index = next((i for i, d in enumerate(data) if d["id"] == replace_id), None) if replace_id else None
    if index is None:
        data.append(item)
        index = len(data) - 1
    else:
        data[index] = {**data[index], **item}
    try:
        return merge(cfg, {section: data})
    except ConfigError as exc:
        own = f"{section}[{index}]"
        grouped: dict[str, list[FieldError]] = {}
        for e in exc.errors:
            if e.path == own:
                key = "address"  # a radio code already used by another device
            elif e.path.startswith(own + "."):
                key = e.path[len(own) + 1:]
            else:
                key = "_form"
            grouped.setdefault(key, []).append(e)
        raise FormErrors(grouped) from None


def without_item(cfg: Config, section: DeviceSection, item_id: str) -> Config:
    data = [dataclasses.asdict(d) for d in getattr(cfg, section) if d.id != item_id]
    return merge(cfg, {section: data})


def _group(errors: list[FieldError]) -> dict[str, list[FieldError]]:
    grouped: dict[str, list[FieldError]] = {}
    for e in errors:
        grouped.setdefault(e.path, []).append(e)
    return grouped


def value_of(cfg: Any, path: str) -> Any:
    node = cfg
    for part in path.split("."):
        node = getattr(node, part) if node is not None else None  # an unset optional table: its keys are unset
    return node
