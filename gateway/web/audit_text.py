"""The audit log in words, in the page's language: "added door-back (door contact, entrance)",
"Inactivity: never sooner than 45 → 60 min", never a JSON dump.

Entries are read as they were written (``gateway/web/audit.py``): devices item by
item since the log learnt that, and older entries, whose device lists were
written whole as JSON text, are compared item by item here when the text is
complete; anything else falls back to a readable "key: old → new".
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from gateway.config.schema import RflinkDevice, WearableConfig
from gateway.config.sensors import RadarConfig, Rtl433DeviceConfig, ZigbeeDeviceConfig
from gateway.web.audit import DEVICE_LISTS, SECRET_MARK, item_changes
from gateway.web.forms import form_field
from gateway.web.text import _label

T = Callable[..., str]
ITEM_CLASSES: dict[str, type] = {"devices": RflinkDevice, "wearables": WearableConfig, "radars": RadarConfig,
                                 "zigbee_devices": ZigbeeDeviceConfig, "rtl433_devices": Rtl433DeviceConfig}
_CHOICES = ("profile", "placement", "model", "night_door_severity", "protocol", "source")


def entry_view(t: T, entry: Mapping[str, Any]) -> dict[str, Any]:
    """One audit entry: who, what and each change as a sentence."""
    lines: list[str] = []
    recorded = entry.get("changes")
    for c in recorded if isinstance(recorded, list) else []:
        if not isinstance(c, Mapping):
            continue
        try:
            lines += change_lines(t, c)
        except Exception:  # an old or odd line must not take the page down: show it plainly
            lines.append(f"{c.get('path', '?')}: {_plain(c.get('old'))} → {_plain(c.get('new'))}")
    return {"wall": entry.get("wall"), "who": who_text(t, str(entry.get("who", ""))),
            "action": action_text(t, str(entry.get("action", ""))), "lines": lines}


def who_text(t: T, who: str) -> str:
    if who.startswith("technician@"):
        return t("audit.who.technician", address=who.split("@", 1)[1])
    if who == "platform":
        return t("audit.who.platform")
    if who.startswith("platform (") and who.endswith(")"):
        return t("audit.who.platform_by", by=who[len("platform ("):-1])
    if who == "hub":
        return t("audit.who.hub")
    return who


def action_text(t: T, action: str) -> str:
    """``set_config (maintenance: new sensor)``: the known part translated, the reason as written."""
    base, sep, rest = action.partition(" (")
    key = "audit.action." + base.replace(".", "_")
    text = t(key)
    if text == key:
        return action
    return text + (t("audit.paren", text=rest.rstrip(")")) if sep else "")


def change_lines(t: T, c: Mapping[str, Any]) -> list[str]:
    path = str(c.get("path", ""))
    old, new = c.get("old"), c.get("new")
    if path in DEVICE_LISTS and "id" in c:
        return [_item_line(t, path, c)]
    if old == SECRET_MARK and new == SECRET_MARK:
        return [t("audit.secret", what=_setting(t, path))]
    if path in DEVICE_LISTS:  # written whole, as JSON text, before the log kept devices one by one
        before, after = _old_list(old), _old_list(new)
        if before is not None and after is not None:
            return [_item_line(t, path, ic) for ic in item_changes(path, before, after)]
        return [t("audit.list_changed", what=t(f"audit.section.{path}"))]
    unit = _unit(t, path)
    if isinstance(old, bool) or isinstance(new, bool):
        return [t("audit.flag", what=_setting(t, path), old=_value(t, path, old), new=_value(t, path, new))]
    return [t("audit.setting", what=_setting(t, path), old=_value(t, path, old), new=_value(t, path, new),
              unit=unit)]


def _item_line(t: T, section: str, c: Mapping[str, Any]) -> str:
    item_id = str(c.get("id", ""))
    old, new = c.get("old"), c.get("new")
    if "key" not in c and old is None and isinstance(new, Mapping):
        return t("audit.added", who=_named(item_id, new), what=_describe(t, section, new))
    if "key" not in c and new is None and isinstance(old, Mapping):
        return t("audit.removed", who=_named(item_id, old), what=_describe(t, section, old))
    key = str(c.get("key", ""))
    return t("audit.item_changed", who=item_id, what=_field(t, key), old=_value(t, key, old),
             new=_value(t, key, new), unit=_unit(t, key, section))


def _named(item_id: str, item: Mapping[str, Any]) -> str:
    name = str(item.get("name") or "")
    return f"{item_id} “{name}”" if name and name != item_id else item_id


def _describe(t: T, section: str, item: Mapping[str, Any]) -> str:
    """What a device is and where: (door contact, entrance); a wearable: (pendant, worn at the neck)."""
    if section == "wearables":
        parts = [_label(t, "choice.profile", item.get("profile")), _label(t, "choice.placement", item.get("placement"))]
    elif section == "radars":
        parts = [_label(t, "choice.model", item.get("model")), _label(t, "room", item.get("room"))]
    else:
        parts = [_label(t, "kind", item.get("kind")), _label(t, "room", item.get("room"))]
    return t("audit.sep").join(p for p in parts if p and p != "None")


def _setting(t: T, path: str) -> str:
    text = t(f"field.{path}.label")
    return path if text == f"field.{path}.label" else text


def _field(t: T, key: str) -> str:
    text = t(f"field.{key}.label")
    return key if text == f"field.{key}.label" else text


def _unit(t: T, path: str, section: str | None = None) -> str:
    """" min" for a setting in minutes: the schema says the unit."""
    unit = None
    with contextlib.suppress(Exception):  # a key an older hub had
        unit = form_field(path).unit if section is None else _item_unit(section, path)
    return " " + t(f"unit.{unit}") if unit else ""


def _item_unit(section: str, key: str) -> str | None:
    return form_field(key, ITEM_CLASSES[section]).unit


def _value(t: T, key: str, value: Any) -> str:
    leaf = key.split(".")[-1]
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("audit.on") if value else t("audit.off")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return t("audit.sep").join(_value(t, key, v) for v in value) or "—"
    if leaf == "kind":
        return _label(t, "kind", value)
    if leaf == "room" or leaf == "dwell_rooms":
        return _label(t, "room", value)
    if leaf in _CHOICES:
        return _label(t, f"choice.{leaf}", value)
    return str(value)


def _old_list(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None  # cut at 200 characters when it was written
    if isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value):
        return value
    return None


def _plain(value: Any) -> str:
    return "—" if value is None else str(value)
