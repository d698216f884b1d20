"""A device's state in words and icons: battery, signal, last heard, a door open or closed.

Made here rather than in template macros: a hub with fifty sensors shows fifty
rows, every few seconds, and a macro call per cell made the status page four
times slower. The icons are drawn by the stylesheet (``app.css``: ``.ico-*``),
so a row carries a class name, not an SVG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

T = Callable[..., str]
POSITIONS = ("door", "bed", "seat", "cabinet", "fridge")
WEAK_DBM = -85.0  # below this a BLE or Zigbee link drops adverts and reports


def battery_state(d: Mapping[str, Any]) -> str:
    pct = d.get("battery_pct")
    if d.get("battery_low") or (pct is not None and pct < 20):
        return "low"
    return "ok" if d.get("battery_low") is False or pct is not None else "unknown"


def signal_state(d: Mapping[str, Any]) -> str:
    rssi = d.get("rssi")
    return "unknown" if rssi is None else "weak" if rssi < WEAK_DBM else "ok"


def _cell(t: T, what: str, state: str, words: str, extra: str) -> Markup:
    # The icon is named for a screen reader ("Battery"); the words say the state.
    return Markup(f'<span class="dstate {state}"><i class="ico ico-{what} {state}" role="img" '
                  f'aria-label="{escape(t(f"devices.{what}"))}"></i>{escape(words)}{escape(extra)}</span>')


def battery(t: T, d: Mapping[str, Any]) -> Markup:
    state = battery_state(d)
    pct = d.get("battery_pct")
    return _cell(t, "battery", state, t(f"device.battery.{state}"), f" · {round(pct)} %" if pct is not None else "")


def signal(t: T, d: Mapping[str, Any]) -> Markup:
    state = signal_state(d)
    rssi = d.get("rssi")
    return _cell(t, "signal", state, t(f"device.signal.{state}"), f" · {round(rssi)} dBm" if rssi is not None else "")


def position(t: T, d: Mapping[str, Any]) -> Markup:
    kind = str(d.get("kind") or "").split(":")[-1]
    active = d.get("active")
    if active is None or kind not in POSITIONS:
        return Markup("")
    words = t(f"device.position.{kind}.{'on' if active else 'off'}")
    return Markup(f'<span class="dstate">{escape(words)}</span>')


def heard(t: T, ago: Callable[[float | None], Markup], d: Mapping[str, Any]) -> Markup:
    """When it was last heard; never heard: said, with a mark to the one line that says what to do."""
    wall = d.get("last_seen_wall")
    if wall:
        offline = f' <span class="bad">{escape(t("devices.offline"))}</span>' if d.get("online") is False else ""
        return ago(wall) + Markup(offline)
    return Markup(f'<span class="warn">{escape(t("devices.never"))}</span><sup aria-hidden="true">*</sup>')


def never_help(t: T, devices: list[Mapping[str, Any]]) -> Markup:
    """What to do about devices never heard, once under the list (empty when all were heard)."""
    never = [d for d in devices if not d.get("last_seen_wall")]
    if not never:
        return Markup("")
    wearable = any(str(d.get("kind") or "").startswith("wearable") for d in never)
    sensor = any(not str(d.get("kind") or "").startswith("wearable") for d in never)
    parts = ([t("device.never_help")] if sensor else []) + ([t("device.never_help_wearable")] if wearable else [])
    return Markup('<p class="help" id="never-heard">* {}</p>').format(escape(" ".join(parts)))


def states(t: T, ago: Callable[[float | None], Markup]) -> Callable[[Mapping[str, Any]], dict[str, Markup]]:
    """For templates: ``ds(d).heard``, ``.battery``, ``.signal``, ``.position``."""
    def of(d: Mapping[str, Any]) -> dict[str, Markup]:
        return {"heard": heard(t, ago, d), "battery": battery(t, d), "signal": signal(t, d),
                "position": position(t, d)}
    return of
