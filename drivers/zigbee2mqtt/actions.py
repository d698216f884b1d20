"""A button's Zigbee2MQTT ``action`` value -> the press pattern it names (single, double, long, second button).

Zigbee2MQTT names a button's events by its converters' conventions, which the
device pages show: ``single``/``double``/``hold`` (Tuya TS0041, Aqara WXKG11LM),
``single``/``double``/``long`` (SONOFF SNZB-01), ``1_single``/``2_double`` (Tuya
TS0042), ``button_1_hold`` (multi-button switches), ``single_left``/``hold_right``
(Aqara two-button switches). The words are read as homebridge-z2m reads them
(https://z2m.dev/action.html): ``single``, ``click``, ``press`` a single press;
``double`` a double press; ``hold``, ``long`` a long press; ``release`` and
triple or more presses are not patterns. What is left names the button: none,
``1`` or ``left`` the first; ``2`` or ``right`` the second (whatever its pattern);
anything else is no pattern this hub maps. An SOS button's own alarm
(``emergency``, ``sos``, ``panic``) is not read here: it is always an emergency.
"""

from __future__ import annotations

import re

from detection.events import PressPattern

_NOT_PATTERNS = frozenset({"release", "triple", "tripple", "quadruple", "many", "stop"})
_PATTERN_WORDS = frozenset({"single", "click", "press", "double", "hold", "long"})
_FIRST: tuple[list[str], ...] = ([], ["1"], ["left"])
_SECOND: tuple[list[str], ...] = (["2"], ["right"])


def press_pattern(action: str) -> PressPattern | None:
    words = [w for w in re.split(r"[_\-\s]+", action.lower()) if w]
    if not words or len(words) > 4 or _NOT_PATTERNS & set(words):
        return None
    if {"hold", "long"} & set(words):
        pattern = PressPattern.LONG
    elif "double" in words:
        pattern = PressPattern.DOUBLE
    elif {"single", "click", "press"} & set(words):
        pattern = PressPattern.SINGLE
    else:
        return None
    button = [w for w in words if w not in _PATTERN_WORDS and w != "button"]
    if button in _FIRST:
        return pattern
    if button in _SECOND:
        return PressPattern.SECOND
    return None
