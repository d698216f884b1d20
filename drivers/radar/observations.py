"""Radar reports -> observations, at the rate a hub can keep. Pure.

An LD2410 reports ten times a second whether anything changed or not. The hub
needs to know when the picture changes (someone came in, stopped moving, left,
fell) and that the radar is still alive; it does not need ten journal rows a
second on an SD card. So a presence observation is emitted when the state
changes, when the target moved by more than ``MOVE_M`` while in the same state,
and otherwise once every ``HEARTBEAT_S`` (what supervision hears as "alive").
A fall is emitted on every change of the radar's fall state, never folded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from detection.events import Fall, Observation, Presence, PresenceState, Stamp
from drivers.radar.ld2410 import Ld2410Framer, TargetReport, TargetState
from drivers.radar.mr60fda2 import FallReport, Mr60fda2Framer, PeopleReport

HEARTBEAT_S = 60.0
MOVE_M = 0.5

Model = Literal["ld2410", "mr60fda2"]
MODELS: tuple[Model, ...] = ("ld2410", "mr60fda2")
BAUDRATES: dict[str, int] = {"ld2410": 256000, "mr60fda2": 115200}


@dataclass(frozen=True, slots=True)
class RadarSpec:
    id: str
    model: Model
    room: str


def presence_of(r: TargetReport) -> tuple[PresenceState, float | None]:
    """Moving wins over still: movement is the stronger sign of life."""
    if r.state in (TargetState.MOVING, TargetState.BOTH):
        return PresenceState.MOVING, r.moving_cm / 100.0
    if r.state is TargetState.STILL:
        return PresenceState.STILL, r.still_cm / 100.0
    return PresenceState.NONE, None


class RadarDecoder:
    """One radar's bytes -> observations (framing, mapping, rate limiting)."""

    def __init__(self, spec: RadarSpec) -> None:
        self.spec = spec
        self._framer: Ld2410Framer | Mr60fda2Framer = (
            Ld2410Framer() if spec.model == "ld2410" else Mr60fda2Framer()
        )
        self._last: tuple[PresenceState, float | None, float] | None = None  # state, distance, t emitted
        self._fallen: bool | None = None
        self.last_report: dict[str, object] = {}

    @property
    def counters(self) -> Counter[str]:
        return self._framer.counters

    def feed(self, data: bytes, at: Stamp) -> list[Observation]:
        out: list[Observation] = []
        for report in self._framer.feed(data):
            if isinstance(report, TargetReport):
                state, distance = presence_of(report)
                self.last_report = {"state": state.value, "distance_m": distance,
                                    "moving_energy": report.moving_energy, "still_energy": report.still_energy}
                self._presence(state, distance, at, out)
            elif isinstance(report, PeopleReport):
                self.last_report = {"present": report.present}
                self._presence(PresenceState.PRESENT if report.present else PresenceState.NONE, None, at, out)
            elif isinstance(report, FallReport):
                if report.fallen != self._fallen:
                    self._fallen = report.fallen
                    out.append(Fall(device=self.spec.id, at=at, room=self.spec.room, fallen=report.fallen))
        return out

    def _presence(self, state: PresenceState, distance: float | None, at: Stamp, out: list[Observation]) -> None:
        last = self._last
        if last is not None:
            last_state, last_distance, last_t = last
            moved = (distance is not None and last_distance is not None
                     and abs(distance - last_distance) > MOVE_M)
            if state == last_state and not moved and at.t - last_t < HEARTBEAT_S:
                self.counters["presence_folded"] += 1
                return
        self._last = (state, distance, at.t)
        out.append(Presence(device=self.spec.id, at=at, room=self.spec.room, state=state,
                            distance_m=None if distance is None else round(distance, 2)))
