"""Help buttons: a press is an emergency, at once, unless the installer gave the button press patterns.

A button with a press map (detection/press_patterns.py) may also ask for a service:
a ``call_request`` finding (a call back, meals, housekeeping, a visit), which the
alert policy sends on its own topic, never escalates and never holds in a cancel
window. A press that means an emergency is never delayed by the patterns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detection.events import (
    ButtonAction,
    ButtonPress,
    Finding,
    FindingState,
    Observation,
    Severity,
    Stamp,
    Tick,
)
from detection.press_patterns import EMERGENCY, Meaning, PressMap, PressRecognizer, PressTiming


class HelpCallDetector:
    name = "help_call"

    def __init__(self, maps: Mapping[str, PressMap] | None = None, timing: PressTiming | None = None) -> None:
        self._patterns = PressRecognizer(maps or {}, timing or PressTiming())

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            return self.poll(obs.at)
        if not isinstance(obs, ButtonPress):
            return []
        if obs.action is ButtonAction.CANCEL:
            # "I am fine": cancels this wearer's pending fall, if there is one (the policy knows).
            return [Finding(type="fall", severity=Severity.EMERGENCY, at=obs.at, key=f"fall:{obs.device}",
                            state=FindingState.CANCELLED, device=obs.device, evidence={"reason": "button"})]
        return [self._finding(m) for m in self._patterns.press(obs)]

    def poll(self, at: Stamp) -> list[Finding]:
        """Requests whose press pattern is decided by ``at`` (the daemon asks twice a second)."""
        return [self._finding(m) for m in self._patterns.due(at.t)]

    def _finding(self, m: Meaning) -> Finding:
        mapped = m.device in self._patterns.maps
        if m.target == EMERGENCY:
            evidence: dict[str, Any] = {"button": m.device}
            if mapped:
                evidence["pattern"] = m.pattern.value
            return Finding(type="help_call", severity=Severity.EMERGENCY, at=m.at, key=f"help:{m.device}",
                           device=m.device, room=m.room, evidence=evidence)
        return Finding(type="call_request", severity=Severity.INFO, at=m.at, key=f"request:{m.target}",
                       device=m.device, room=m.room,
                       evidence={"button": m.device, "service": m.target, "pattern": m.pattern.value})

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass
