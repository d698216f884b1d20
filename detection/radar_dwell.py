"""Someone present and still in a room where people get stuck, as a presence radar sees it.

Silence is weak evidence: the home monitor waits for its learned limit because a
quiet flat may just be a person reading. A radar that says "someone is here and
not moving" in the bathroom is stronger: the person is there, and they do not
move. So a radar in a dwell room raises ``room_dwell`` (urgent) after
``still_limit_s`` of continuous stillness, sooner than the silence-based limit,
with the radar's view as evidence, and clears it when the radar sees movement or
an empty room for ``settle_s`` (one moving blip from a breathing person or a
curtain neither resets the count nor clears the alert). Stillness counts only
after the radar saw movement: a person walks in before they stop, while a radar
that sees a "still target" in an empty room (a radiator, a mirror: a badly tuned
LD2410) goes from nothing to still and must not call for help every day.

It has its own key (``room_dwell:<radar>``), so it never closes an alert the home
monitor raised from silence; the platform may then hear both for one situation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detection.events import Finding, FindingState, Observation, Presence, PresenceState, Severity, Tick

SETTLE_S = 30.0


@dataclass
class _Watch:
    limit_s: float
    still_since: float | None = None
    other_since: float | None = None  # when moving/none began, while still_since is kept
    raised: bool = False
    distance_m: float | None = None
    room: str | None = None
    armed: bool = False  # movement seen since the room was last empty: stillness now means a person
    empty: bool = False


class RadarDwellDetector:
    """``radars`` maps radar id -> seconds of stillness before raising."""

    name = "radar_dwell"

    def __init__(self, radars: dict[str, float], settle_s: float = SETTLE_S) -> None:
        self._watch = {r: _Watch(limit) for r, limit in radars.items() if limit > 0}
        self.settle_s = settle_s

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            return [f for r, w in self._watch.items() if (f := self._check(r, w, obs)) is not None]
        w = self._watch.get(obs.device) if isinstance(obs, Presence) else None
        if w is None or not isinstance(obs, Presence):
            return []
        t = obs.at.t
        w.room = obs.room
        if obs.state is PresenceState.STILL:
            w.other_since = None
            w.distance_m = obs.distance_m
            if w.still_since is None and w.armed:
                w.still_since = t
            found = self._check(obs.device, w, obs)
            return [found] if found is not None else []
        if obs.state is PresenceState.PRESENT:
            return []  # someone there, movement unknown: neither still nor moving
        if obs.state is PresenceState.MOVING:
            w.armed = True
        if w.other_since is None:
            w.other_since = t
        w.empty = obs.state is PresenceState.NONE
        return self._settle(obs.device, w, obs)

    def _settle(self, radar: str, w: _Watch, obs: Observation) -> list[Finding]:
        if w.other_since is None or obs.at.t - w.other_since < self.settle_s:
            return []
        w.still_since = None
        if w.empty:
            w.armed = False  # the person left: the next stillness needs them to walk in again
        if not w.raised:
            return []
        w.raised = False
        return [Finding(type="room_dwell", severity=Severity.URGENT, at=obs.at, key=f"room_dwell:{radar}",
                        state=FindingState.CLEARED, device=radar, room=w.room,
                        evidence={"source": "radar", "reason": "movement or empty room"})]

    def _check(self, radar: str, w: _Watch, obs: Observation) -> Finding | None:
        if isinstance(obs, Tick) and w.other_since is not None:
            settled = self._settle(radar, w, obs)
            return settled[0] if settled else None
        if w.raised or w.still_since is None or obs.at.t - w.still_since < w.limit_s:
            return None
        w.raised = True
        still_s = obs.at.t - w.still_since
        return Finding(type="room_dwell", severity=Severity.URGENT, at=obs.at, key=f"room_dwell:{radar}",
                       device=radar, room=w.room,
                       evidence={"source": "radar", "still_min": round(still_s / 60, 1),
                                 "limit_min": round(w.limit_s / 60, 1), "distance_m": w.distance_m})

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass
