"""A fall that a radar saw becomes the same fall finding as a wearable's.

The radar decides the fall itself (an MR60FDA2 reports "fallen"); this detector
only turns the radar's report into ``fall:<radar>`` with the cancel window of
the room's radar, so the alert policy holds, raises and escalates it exactly like
a wearable fall. A radar that later reports "no fall" re-arms the detector but
does not cancel or lower the alert: the radar cannot tell someone who got up
from someone who crawled out of its field, and a missed fall is the worst
failure. Only a person (the platform's acknowledgement) closes it.
"""

from __future__ import annotations

from typing import Any

from detection.events import Fall, Finding, Observation, Severity


class RadarFallDetector:
    """``radars`` maps radar id -> cancel window in seconds."""

    name = "radar_fall"

    def __init__(self, radars: dict[str, float]) -> None:
        self.radars = dict(radars)
        self._fallen: set[str] = set()

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, Fall) or obs.device not in self.radars:
            return []
        if not obs.fallen:
            self._fallen.discard(obs.device)
            return []
        if obs.device in self._fallen:
            return []  # the same fall, reported again
        self._fallen.add(obs.device)
        return [Finding(type="fall", severity=Severity.EMERGENCY, at=obs.at, key=f"fall:{obs.device}",
                        device=obs.device, room=obs.room, cancel_window_s=self.radars[obs.device],
                        evidence={"source": "radar", "radar": obs.device})]

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass
