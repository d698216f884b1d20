"""Config of what a button's presses ask for (docs/alerts.md, "Press patterns"), and its checks.

A button may map its single, double and long presses and its second button or
channel to ``emergency`` or to a service it asks for (``call_back``, ``meals``,
``housekeeping``, ``visit``, or a name listed in ``buttons.services``). Without a
map, every press of a help button is an emergency, as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from detection.press_patterns import BUILTIN_SERVICES, EMERGENCY, PressMap
from gateway.config.fields import opt

if TYPE_CHECKING:
    from gateway.config.schema import Config

SERVICE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
TARGET_PATTERN = r"^$|^[a-z][a-z0-9_]{0,31}$"
# Profiles whose button the hub hears; the carehub profile's has no long-press code and no second button.
BUTTON_PROFILES = ("carehub", "microbit")


@dataclass(frozen=True)
class PressMapConfig:
    single: str = opt("", help="What a single press asks for: emergency or a service (empty: emergency)",
                      pattern=TARGET_PATTERN)
    double: str = opt("", help="What a double press asks for (empty: what a single press means)",
                      pattern=TARGET_PATTERN)
    long: str = opt("", help="What a long press (the button held) asks for (empty: what a single press means)",
                    pattern=TARGET_PATTERN)
    second: str = opt("", help="What the second button or channel asks for (empty: nothing)",
                      pattern=TARGET_PATTERN)

    def press_map(self) -> PressMap:
        return PressMap(self.single, self.double, self.long, self.second)


@dataclass(frozen=True)
class ButtonsConfig:
    double_press_s: float = opt(
        4.0, help="A second press that starts within this time of the first is a double press (433 MHz "
        "buttons: the second press must come more than 1.5 s after the first one ends)", min=2, max=10, unit="s",
    )
    long_press_s: float = opt(
        3.0, help="A button held this long (its radio keeps sending) is a long press", min=1, max=10, unit="s",
    )
    services: list[str] = opt(
        default_factory=list, help="Services a button may ask for besides call_back, meals, housekeeping and "
        "visit", pattern=SERVICE_PATTERN,
    )


Problem = tuple[str, Any, str]  # (key path, value, what is allowed): a FieldError's parts


def button_problems(cfg: Config) -> list[Problem]:
    """Press maps that name an unknown service, sit on a device without a button, or cannot work."""
    known = (*BUILTIN_SERVICES, *cfg.buttons.services)
    out: list[Problem] = []
    for i, d in enumerate(cfg.devices):
        if d.presses is None:
            continue
        path = f"devices[{i}].presses"
        if d.kind != "sos":
            out.append((path, _shown(d.presses), f"press patterns only on a button (kind 'sos'); devices[{i}] "
                                                 f"is a {d.kind!r}"))
            continue
        out += _targets(path, d.presses, known)
        out += _bare_press_radio(path, d.presses)
        if d.presses.second and not d.second_switch:
            out.append((f"devices[{i}].second_switch", "", "the SWITCH value of the second button, or 'off' for "
                                                           "this code's CMD=OFF, since presses.second is set"))
    out += _second_codes_taken(cfg)
    for i, z in enumerate(cfg.zigbee_devices):
        if z.presses is None:
            continue
        path = f"zigbee_devices[{i}].presses"
        if z.kind != "sos":
            out.append((path, _shown(z.presses), f"press patterns only on a button (kind 'sos'); "
                                                 f"zigbee_devices[{i}] is a {z.kind!r}"))
            continue
        out += _targets(path, z.presses, known)  # Zigbee2MQTT says which pattern it was: any map works
    for i, w in enumerate(cfg.wearables):
        if w.presses is None:
            continue
        path = f"wearables[{i}].presses"
        if w.profile not in BUTTON_PROFILES:
            out.append((path, _shown(w.presses), f"press patterns only on a wearable with a button (profile "
                                                 f"'carehub' or 'microbit'); wearables[{i}] is {w.profile!r}"))
            continue
        out += _targets(path, w.presses, known)
        out += _bare_press_radio(path, w.presses)
        if w.profile == "carehub":
            for name in ("long", "second"):
                if getattr(w.presses, name):
                    out.append((f"{path}.{name}", getattr(w.presses, name),
                                "empty: the carehub profile's button sends one code per press (no long press, "
                                "no second button)"))
    return out


def _second_codes_taken(cfg: Config) -> list[Problem]:
    """A second button's SWITCH= code must not be another device's own code."""
    def norm(code: str) -> str:
        return code.lower().lstrip("0") or "0"

    own = {(d.protocol.lower(), norm(d.address), norm(d.switch)): i for i, d in enumerate(cfg.devices) if d.switch}
    out = []
    for i, d in enumerate(cfg.devices):
        if d.second_switch and d.second_switch.lower() != "off":
            other = own.get((d.protocol.lower(), norm(d.address), norm(d.second_switch)))
            if other is not None and other != i:
                out.append((f"devices[{i}].second_switch", d.second_switch,
                            f"a SWITCH value not already used by devices[{other}]"))
    return out


def _targets(path: str, presses: PressMapConfig, known: tuple[str, ...]) -> list[Problem]:
    out = []
    for name in ("single", "double", "long", "second"):
        value = getattr(presses, name)
        if value and value != EMERGENCY and value not in known:
            out.append((f"{path}.{name}", value, f"'emergency' or a known service: {', '.join(known)} "
                                                 "(add others to buttons.services)"))
    return out


def _bare_press_radio(path: str, presses: PressMapConfig) -> list[Problem]:
    """On a radio that only sends presses, a double or long press starts as a single press."""
    if presses.single not in ("", EMERGENCY):
        return []
    return [(f"{path}.{name}", getattr(presses, name),
             f"empty or 'emergency' while a single press is an emergency: this radio only sends presses, so a "
             f"{name} press begins as a single press, which raises the emergency at once (docs/alerts.md, "
             "\"Press patterns\"); make single a service, or use the second button")
            for name in ("double", "long") if getattr(presses, name) not in ("", EMERGENCY)]


def _shown(presses: PressMapConfig) -> dict[str, str]:
    return {k: v for k, v in vars(presses).items() if v}
