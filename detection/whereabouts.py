"""Where the person was last sensed, for an alert from something she carries.

A pendant or a watch knows that she fell, not where: a responder who is told
"bathroom" goes straight there. The room sensors know where she was; a fall or
a help call from a wearable (no room of its own) takes the room of the last
sign of life from a room-bound sensor: motion, a door, bed or seat, a radar
that sees someone. Only a recent one (``MAX_AGE_S``): after half an hour of
silence anywhere the room is a guess the alert must not state. The evidence
says it is inferred, from which sensor and how long before, so the platform
can word it as "last seen in".

Pure: observations in, findings out, times from the observations' monotonic
stamps (a wall-clock jump moves nothing).
"""

from __future__ import annotations

import dataclasses

from detection.events import (
    Contact,
    Finding,
    FindingState,
    Motion,
    Observation,
    Presence,
    PresenceState,
    Severity,
)

MAX_AGE_S = 1800.0
LOCATED = (Severity.EMERGENCY, Severity.URGENT)


class Whereabouts:
    def __init__(self, max_age_s: float = MAX_AGE_S) -> None:
        self.max_age_s = max_age_s
        self._last: tuple[float, str, str] | None = None  # (monotonic t, room, device)

    def seen(self, obs: Observation) -> None:
        """Remember a sign of life that says where she is."""
        if obs.room is None:
            return
        if isinstance(obs, Motion | Contact) and obs.active:
            self._last = (obs.at.t, obs.room, obs.device)
        elif isinstance(obs, Presence) and obs.state is not PresenceState.NONE:
            self._last = (obs.at.t, obs.room, obs.device)

    def locate(self, finding: Finding) -> Finding:
        """The finding with the room she was last sensed in, when it has none of its own and it matters."""
        if (finding.room is not None or finding.device is None or finding.state is not FindingState.RAISED
                or finding.severity not in LOCATED or self._last is None):
            return finding
        t, room, device = self._last
        age = finding.at.t - t
        if not 0.0 <= age <= self.max_age_s:
            return finding
        evidence = {**finding.evidence, "room_inferred": {"from": device, "seconds_before": round(age)}}
        return dataclasses.replace(finding, room=room, evidence=evidence)
