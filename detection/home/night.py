"""The night: out of the front door and not back, out of bed far longer than usual.

Both are learned from this person's own nights. An outing that began at this
time of day and came back on its own before (a neighbour's in the evening, the
night shift of a carer) raises the limit for the door; only the night's first
departure can be wandering.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from detection.events import Finding, FindingState, Severity, Stamp
from detection.home.settings import HomeSettings

NIGHT_UP_FLOOR_S = 30 * 60.0
NIGHT_UP_DEFAULT_S = 60 * 60.0
OUTING_WINDOW_MIN = 90.0  # outings that began within this of the time of day are comparable
MIN_OUTINGS = 2
KEY_WANDER = "night_wandering"
KEY_UP = "night_out_of_bed"


def _tod_min(local: float) -> float:
    return (local % 86400.0) / 60.0


class NightWatch:
    def __init__(self, settings: HomeSettings) -> None:
        self.s = settings
        self.night_up: deque[float] = deque(maxlen=60)  # how long this person is usually up at night (s)
        self.outings: deque[tuple[float, float]] = deque(maxlen=120)  # (time of day left, minutes out)
        self._up_since: float | None = None
        self._up_raised = False
        self._door: tuple[float, float, bool] | None = None  # (t, local, at night) of the last departure
        self._wander_raised = False

    def snapshot(self) -> dict[str, Any]:
        return {"night_up": list(self.night_up), "outings": [list(o) for o in self.outings]}

    def restore(self, state: dict[str, Any]) -> None:
        self.night_up.clear()
        self.night_up.extend(float(w) for w in state.get("night_up", []))
        self.outings.clear()
        self.outings.extend((float(a), float(b)) for a, b in state.get("outings", []))

    def _severity(self) -> Severity:
        return Severity.WELLBEING if self.s.night_door_severity == "wellbeing" else Severity.URGENT

    def _finding(self, kind: str, at: Stamp, room: str | None, evidence: dict[str, Any],
                 state: FindingState = FindingState.RAISED) -> Finding:
        return Finding(type=kind, severity=self._severity(), at=at, key=kind, room=room, evidence=evidence, state=state)

    # --- the front door -----------------------------------------------------------

    def door(self, at: Stamp, hour: float, away: bool) -> None:
        if self._door is None and not away:
            self._door = (at.t, at.local, self.s.is_night(hour))

    def inside(self, at: Stamp, room: str, kind: str) -> list[Finding]:
        """A sign of life inside: whoever went out is back (or never left)."""
        out: list[Finding] = []
        if self._door is not None:
            t, local, _ = self._door
            minutes = (at.t - t) / 60
            if minutes >= self.s.away_after_min:
                self.outings.append((_tod_min(local), minutes))
            if self._wander_raised:
                out.append(self._finding(KEY_WANDER, at, room, {"reason": f"back inside: {kind} in {room}"},
                                         FindingState.CLEARED))
        self._door, self._wander_raised = None, False
        return out

    def _outing_limit_min(self, left_local: float) -> tuple[float, int]:
        tod = _tod_min(left_local)
        seen = [m for left, m in self.outings if min((left - tod) % 1440, (tod - left) % 1440) <= OUTING_WINDOW_MIN]
        if len(seen) < MIN_OUTINGS:
            return self.s.night_out_min, len(seen)
        return max(self.s.night_out_min, 1.25 * max(seen) + 30.0), len(seen)

    # --- the bed ------------------------------------------------------------------

    def bed(self, at: Stamp, hour: float, occupied: bool, trusted: bool) -> list[Finding]:
        out: list[Finding] = []
        if not trusted:
            self._up_since, self._up_raised = None, False
            return out
        if not occupied and self.s.is_night(hour):
            self._up_since = at.t
        elif occupied and self._up_since is not None:
            if self._up_raised:
                out.append(self._finding(KEY_UP, at, "bedroom", {"reason": "back in bed"}, FindingState.CLEARED))
            else:
                self.night_up.append(at.t - self._up_since)
            self._up_since, self._up_raised = None, False
        return out

    def _up_limit(self) -> tuple[float, int]:
        seen = sorted(self.night_up)
        if len(seen) < 5:
            return NIGHT_UP_DEFAULT_S, len(seen)
        return max(NIGHT_UP_FLOOR_S, 1.5 * seen[-1] + 600.0), len(seen)

    # --- time passing -------------------------------------------------------------

    def tick(self, at: Stamp, room: str | None, away: bool) -> list[Finding]:
        out: list[Finding] = []
        if self._door is not None and self._door[2] and not self._wander_raised:
            t, local, _ = self._door
            limit, n = self._outing_limit_min(local)
            if at.t - t >= limit * 60:
                self._wander_raised = True
                out.append(self._finding(KEY_WANDER, at, room or "entrance", {
                    "door_opened_min_ago": round((at.t - t) / 60, 1), "limit_min": round(limit, 1),
                    "comparable_outings": n}))
        if self._up_since is not None and not self._up_raised and not away:
            up = at.t - self._up_since
            limit, n = self._up_limit()
            if up > limit:
                self._up_raised = True
                out.append(self._finding(KEY_UP, at, room, {
                    "up_min": round(up / 60, 1), "limit_min": round(limit / 60, 1), "learned_from": n}))
        return out
