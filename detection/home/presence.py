"""Where the person is, as the home's presence radars see it. Pure.

A passive-infrared sensor cannot tell a person who sits or lies still from an
empty room; a mmWave radar can. For the home monitor a radar answers one question
about its room: is the person *here* (and, since the last sign of life, not
moving), or did they *leave* it? The monitor then holds the silence to the limit
for "here and still" in that room, or for "gone elsewhere" (``monitor.py``).

The rules are physical, and one-person:

* **Arrival arms a radar.** Movement the radar saw, an arrival (nobody, then
  someone), or a sign of life from another sensor in its room says a person came
  in. A "still target" that appears from nothing (a radiator, a mirror: a badly
  tuned LD2410) is not a person and arms nothing.
* **A sign of life in another room disarms it**: one person cannot be in the
  bathroom and the kitchen, whatever the bathroom's radar says (its hold time, a
  ghost target).
* **Only someone who moved can leave.** Movement, then nobody, is a person who
  walked out. A still target that vanishes without moving is a radar that lost a
  person lying still (far from it, behind a bath), so it is *not* taken as gone:
  the belief stays as it was.
* **A blip is not a sign of life.** A moving report in place (within ``MOVE_M``
  of the still target) that is still again within ``SETTLE_S`` is a breathing
  person, a curtain, a twitch: the stillness goes on. Movement that lasts, or
  that goes somewhere, is a sign of life.
"""

from __future__ import annotations

from dataclasses import dataclass

from detection.events import PresenceState
from detection.home.gaps import context_key

SETTLE_S = 30.0  # moving in place for less than this is a blip of a person who stays still
MOVE_M = 0.5  # a target that moved farther than this went somewhere
_SOMEONE = (PresenceState.MOVING, PresenceState.STILL, PresenceState.PRESENT)


@dataclass
class _Radar:
    room: str
    state: PresenceState = PresenceState.NONE
    armed: bool = False  # a person came in since the room was last left
    left: bool = False  # the radar saw the person go: movement, then nobody
    lost: bool = False  # a still target vanished without moving: the person is taken as still there
    distance_m: float | None = None  # of the target, when the radar says
    blip_since: float | None = None  # moving in place since, while the stillness is kept
    arrived_t: float = -1e18  # when it last saw someone come in without moving (a presence-only radar)


class RadarRooms:
    """Every radar heard so far; ``ignored`` radars are never taken as "here" (their stillness is off)."""

    def __init__(self, ignored: frozenset[str] = frozenset(), dwell_rooms: tuple[str, ...] = ("bathroom",)) -> None:
        self._radars: dict[str, _Radar] = {}
        self._ignored = ignored
        self._dwell = dwell_rooms

    def report(self, radar: str, room: str, state: PresenceState, distance_m: float | None, t: float) -> bool:
        """Take a radar's report; True when it is a sign of life (movement that is more than a blip)."""
        r = self._radars.get(radar)
        if r is None or r.room != room:
            r = self._radars[radar] = _Radar(room)
        was = r.state
        if state is PresenceState.MOVING:
            if r.armed and was in (PresenceState.STILL, PresenceState.PRESENT) and not self._went(r, distance_m):
                if r.blip_since is None:
                    r.blip_since = t
                if t - r.blip_since < SETTLE_S:
                    return False
            r.state, r.armed, r.left, r.lost, r.blip_since = PresenceState.MOVING, True, False, False, None
            r.distance_m = distance_m
            return True
        blip, r.blip_since = r.blip_since is not None, None
        if state is PresenceState.NONE:
            if blip or was in (PresenceState.MOVING, PresenceState.PRESENT):
                r.armed, r.left, r.lost = False, True, False
            elif was is PresenceState.STILL:
                r.lost = True
            r.state = state
            return blip  # moving in place, then gone: the person walked out
        # Still again after a blip: the stillness goes on, and the blip was not a sign of life.
        if was is PresenceState.NONE and state is PresenceState.PRESENT:
            r.armed, r.left, r.arrived_t = True, False, t  # someone came in (a radar that does not say if they move)
        if distance_m is not None:
            r.distance_m = distance_m
        r.state, r.lost = state, False
        return False

    @staticmethod
    def _went(r: _Radar, distance_m: float | None) -> bool:
        return distance_m is not None and r.distance_m is not None and abs(distance_m - r.distance_m) > MOVE_M

    def sign_of_life(self, room: str) -> None:
        """Another sensor saw the person in ``room``: that room's radars see them, the others do not."""
        for r in self._radars.values():
            if r.room == room:
                if r.state in _SOMEONE:
                    r.armed, r.left = True, False
            elif r.armed:
                r.armed = False

    def settled(self, t: float) -> list[str]:
        """Radars whose movement in place has lasted SETTLE_S: a sign of life after all."""
        out = []
        for radar, r in self._radars.items():
            if r.blip_since is not None and t - r.blip_since >= SETTLE_S:
                r.state, r.armed, r.left, r.lost, r.blip_since = PresenceState.MOVING, True, False, False, None
                out.append(radar)
        return out

    def here(self, room: str) -> str | None:
        """A radar in ``room`` that sees the person there."""
        for radar, r in self._radars.items():
            if r.room == room and r.armed and (r.state in _SOMEONE or r.lost) and radar not in self._ignored:
                return radar
        return None

    def left(self, room: str) -> str | None:
        """A radar in ``room`` that saw the person leave it, when none sees them there."""
        if self.here(room) is not None:
            return None
        return next((radar for radar, r in self._radars.items()
                     if r.room == room and r.left and r.state is PresenceState.NONE), None)

    def context(self, room: str, base: str, occupancy: str, since: float) -> tuple[str, str, bool]:
        """(context, radar, left) of a silence that began at ``since`` in ``room`` with ``base``.

        In a dwell room, a radar that sees the person there gives its own "here" context (how long
        people stay silent there while seen is learned apart, ``HomeMonitor.still``); so does a radar in
        a dwell room that saw someone come in since (a presence-only radar: the person went there
        without another sensor seeing them). A radar that saw them leave their room: the sign of life's
        own context, but ``left``. Elsewhere a radar that sees them changes nothing but the evidence:
        it cannot tell the armchair from the floor, and the room's silences are learned already.
        """
        radar = self.here(room)
        if radar is None:
            left = self.left(room)
            if left is not None:
                return base, left, True
            radar = self._arrived_since(since)
            if radar is None:
                return base, "", False
            room, occupancy = self._radars[radar].room, ""
        if room not in self._dwell or occupancy:
            return base, radar if room == self._radars[radar].room else "", False
        # The kind is per room: stillness in the bathroom borrows nothing from another room's.
        return context_key(radar, f"presence.{room}", "here", occupancy, room), radar, False

    def _arrived_since(self, t: float) -> str | None:
        found = [(r.arrived_t, radar) for radar, r in self._radars.items()
                 if r.arrived_t > t and r.armed and r.state in _SOMEONE and radar not in self._ignored]
        return max(found)[1] if found else None

    def room(self, radar: str) -> str:
        r = self._radars.get(radar)
        return r.room if r is not None else "other"

    def moving(self, radar: str) -> bool:
        r = self._radars.get(radar)
        return r is not None and r.state is PresenceState.MOVING

    def anyone_here(self) -> bool:
        return any(r.armed and r.state in _SOMEONE for r in self._radars.values())

    def view(self, radar: str) -> dict[str, object]:
        """The radar's view, as evidence for an alert."""
        r = self._radars.get(radar)
        if r is None:
            return {}
        return {"radar": radar, "radar_state": r.state.value, "distance_m": r.distance_m}
