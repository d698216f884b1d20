"""Press patterns: which press a button made (single, double, long, second button) and what it asks for.

One-touch call programmes give the resident one button for everything: a single
press may be a help call, a double press a request to be called back, a long
press a request for meals. This module is the pure part of that: presses come in
with their stamps, the time is handed in (``due``), and out come *meanings*:
``emergency`` or the name of a requested service. No clock is read here.

Two kinds of device:

* **Devices that say which pattern it was** (Zigbee2MQTT's ``single``/``double``/
  ``hold``, a second button's own code): the press means its pattern's target at once.
* **Radios that only send presses** (433 MHz, the carehub and micro:bit BLE buttons):
  the pattern is told by time. A second press that starts within ``double_press_s``
  of the first is a double press; a button whose frames keep coming for
  ``long_press_s`` (a held 433 MHz button repeats its code), or whose device sends
  its own long-press code, is a long press; otherwise, once that time has passed,
  it was a single press.

**An emergency never waits** (docs/alerts.md, "Press patterns"): when a single press
means an emergency, every press raises it at once, and a double or long press of
the same button folds into that emergency (the policy counts the presses). Only a
single press that means a *request* waits for the double or long press it might
become, because a request is not urgent. A pattern that completes as an emergency
(a double press mapped to ``emergency``) is raised on the press or frame that
completes it.

Unmapped patterns keep today's behaviour: a device without a map makes every press
an emergency; in a map, an unset ``single`` is an emergency, an unset ``double`` or
``long`` means what ``single`` means, and an unset ``second`` does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from detection.events import ButtonPress, PressPattern, Stamp

EMERGENCY = "emergency"
BUILTIN_SERVICES = ("call_back", "meals", "housekeeping", "visit")


@dataclass(frozen=True, slots=True)
class PressMap:
    """What each pattern of one button means: ``emergency``, a service name, or "" (unmapped)."""

    single: str = ""
    double: str = ""
    long: str = ""
    second: str = ""

    def target(self, pattern: PressPattern) -> str | None:
        """The meaning of ``pattern`` with the fallbacks applied; None: the press means nothing."""
        first = self.single or EMERGENCY
        if pattern is PressPattern.SINGLE:
            return first
        if pattern is PressPattern.DOUBLE:
            return self.double or first
        if pattern is PressPattern.LONG:
            return self.long or first
        if pattern is PressPattern.SECOND:
            return self.second or None
        return EMERGENCY  # the device's own alarm code

    def waits(self) -> bool:
        """A single press must wait to see whether it becomes a double or long press that means more."""
        first = self.target(PressPattern.SINGLE)
        return first != EMERGENCY and (self.target(PressPattern.DOUBLE) != first
                                       or self.target(PressPattern.LONG) != first)


@dataclass(frozen=True, slots=True)
class PressTiming:
    double_press_s: float = 4.0  # a second press starting within this of the first is a double press
    long_press_s: float = 3.0  # frames of one press that keep coming this long make a long press
    # A held button's frames come closer than this (the 433 MHz driver folds copies this close):
    # a single press is not decided while they may still be coming.
    frame_gap_s: float = 1.5


@dataclass(frozen=True, slots=True)
class Meaning:
    """A press pattern recognised: ``target`` is ``emergency`` or a service; ``at`` when it was pressed."""

    device: str
    room: str | None
    at: Stamp
    pattern: PressPattern
    target: str


@dataclass(slots=True)
class _Gesture:
    """The presses of one button that may still become one pattern (radios that only send presses)."""

    start: Stamp
    room: str | None
    last_t: float
    presses: int = 1
    resolved: str | None = None  # the target already raised for it
    long: bool = False  # resolved as a long press: the next press starts afresh


class PressRecognizer:
    """Bare presses -> patterns by time; patterns -> meanings through each device's ``PressMap``."""

    def __init__(self, maps: Mapping[str, PressMap], timing: PressTiming | None = None) -> None:
        self.maps = dict(maps)
        self.timing = timing or PressTiming()
        self._gestures: dict[str, _Gesture] = {}

    def press(self, obs: ButtonPress) -> list[Meaning]:
        pmap = self.maps.get(obs.device)
        if pmap is None:
            # No map: today's behaviour, every press an emergency. A second button nobody mapped says
            # nothing, and a long-press code follows the press that already raised the emergency.
            if obs.repeat or obs.pattern in (PressPattern.SECOND, PressPattern.LONG):
                return []
            return [Meaning(obs.device, obs.room, obs.at, obs.pattern or PressPattern.SINGLE, EMERGENCY)]
        if obs.pattern is None or obs.repeat:
            return self._bare(pmap, obs)
        if obs.pattern is PressPattern.LONG:
            g = self._open_gesture(obs.device, obs.at.t)
            if g is not None:  # a device that sent the press first, then its long-press code
                return self._resolve(g, obs.device, PressPattern.LONG, pmap, obs.at) if g.resolved is None else []
        target = pmap.target(obs.pattern)
        return [] if target is None else [Meaning(obs.device, obs.room, obs.at, obs.pattern, target)]

    def due(self, t: float) -> list[Meaning]:
        """Single presses whose time to become a double or long press has passed by ``t``."""
        out: list[Meaning] = []
        for device, g in list(self._gestures.items()):
            pmap = self.maps.get(device)
            if pmap is None:
                del self._gestures[device]
            elif g.resolved is None and t - g.start.t >= self._wait(pmap) and not self._may_be_held(pmap, g, t):
                out += self._resolve(g, device, PressPattern.SINGLE, pmap, g.start)
            elif g.resolved is not None and t - g.last_t > max(self.timing.double_press_s, self.timing.long_press_s):
                del self._gestures[device]
        return out

    def pending(self) -> int:
        """Presses waiting for their pattern (only presses that would be requests ever wait)."""
        return sum(1 for g in self._gestures.values() if g.resolved is None)

    # --- radios that only send presses ------------------------------------------------

    def _bare(self, pmap: PressMap, obs: ButtonPress) -> list[Meaning]:
        t = obs.at.t
        g = self._open_gesture(obs.device, t)
        if obs.repeat:
            if g is None:
                return []  # the tail of a press already decided and forgotten
            g.last_t = t
            if g.resolved is None and t - g.start.t >= self.timing.long_press_s:
                return self._resolve(g, obs.device, PressPattern.LONG, pmap, obs.at)
            return []
        first = pmap.target(PressPattern.SINGLE)
        if g is None or g.long or t - g.start.t > self.timing.double_press_s:
            g = self._gestures[obs.device] = _Gesture(obs.at, obs.room, t)
            if first == EMERGENCY or not pmap.waits():
                return self._resolve(g, obs.device, PressPattern.SINGLE, pmap, obs.at)
            return []
        g.presses += 1
        g.last_t = t
        if g.resolved is None:
            return self._resolve(g, obs.device, PressPattern.DOUBLE, pmap, obs.at)
        if g.resolved == EMERGENCY:
            # Pressed again while calling for help: the same emergency, counted by the policy.
            return [Meaning(obs.device, obs.room, obs.at, PressPattern.DOUBLE, EMERGENCY)]
        return []  # a request asked again within its pattern: the same request

    def _open_gesture(self, device: str, t: float) -> _Gesture | None:
        g = self._gestures.get(device)
        horizon = max(self.timing.double_press_s, self.timing.long_press_s)
        return g if g is not None and t - g.last_t <= horizon else None

    def _resolve(self, g: _Gesture, device: str, pattern: PressPattern, pmap: PressMap, at: Stamp) -> list[Meaning]:
        """``at``: the press that completed the pattern (for a single press, the press itself)."""
        target = pmap.target(pattern)
        if target is None:
            return []
        g.resolved = target
        g.long = pattern is PressPattern.LONG
        return [Meaning(device, g.room, at, pattern, target)]

    def _may_be_held(self, pmap: PressMap, g: _Gesture, t: float) -> bool:
        long_means_more = pmap.target(PressPattern.LONG) != pmap.target(PressPattern.SINGLE)
        return long_means_more and t - g.last_t < self.timing.frame_gap_s

    def _wait(self, pmap: PressMap) -> float:
        """How long a single press waits: until it can no longer become a pattern that means more."""
        first = pmap.target(PressPattern.SINGLE)
        w = 0.0
        if pmap.target(PressPattern.DOUBLE) != first:
            w = self.timing.double_press_s
        if pmap.target(PressPattern.LONG) != first:
            w = max(w, self.timing.long_press_s)
        return w
