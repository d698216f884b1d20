"""What a technician can tune about home monitoring (mirrors config ``[detection.home]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HomeSettings:
    inactivity_floor_min: float = 45.0
    inactivity_ceiling_min: float = 240.0
    sleep_ceiling_min: float = 720.0
    quiet_hours: tuple[int, int] | None = None
    dwell_rooms: tuple[str, ...] = ("bathroom",)
    dwell_floor_min: float = 25.0
    dwell_ceiling_min: float = 60.0
    night_start_hour: int = 22
    night_end_hour: int = 6
    wake_margin_min: float = 90.0
    night_door_severity: str = "urgent"
    night_out_min: float = 20.0
    wellbeing_notices: bool = True
    away_after_min: float = 10.0
    # Out of the door and not back: after this long it is raised all the same (a collapse just
    # inside the door looks like going out). Not in the config file yet: a safety rail.
    away_ceiling_min: float = 600.0
    # A radar that sees someone present and not moving in a dwell room (issue 15): sitting on the toilet
    # for 20 min is normal, lying still there for half an hour is not. Safety rails, not in the config file.
    still_floor_min: float = 25.0
    still_ceiling_min: float = 30.0
    # radar id -> the technician's own limit for "present and still" (config radars[].still_alert_min);
    # 0: that radar's stillness is not used (its "empty room" still is).
    radar_still_min: tuple[tuple[str, float], ...] = ()

    def is_night(self, hour: float) -> bool:
        s, e = self.night_start_hour, self.night_end_hour
        return (s <= hour or hour < e) if s > e else (s <= hour < e)

    def is_quiet(self, hour: float) -> bool:
        if self.quiet_hours is None:
            return False
        s, e = self.quiet_hours
        return (s <= hour or hour < e) if s > e else (s <= hour < e)
