"""The long detection form in sections a technician can find their way in, each with a heading."""

from __future__ import annotations

from gateway.web.forms import FormField

# (section key, field paths in it); a field no section names (a new setting) goes to "other".
DETECTION_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inactivity", ("detection.home.enabled", "detection.home.inactivity_floor_min",
                    "detection.home.inactivity_ceiling_min", "detection.home.sleep_ceiling_min",
                    "detection.home.quiet_hours")),
    ("bathroom", ("detection.home.dwell_floor_min", "detection.home.dwell_ceiling_min")),
    ("night", ("detection.home.night_start_hour", "detection.home.night_end_hour", "detection.home.wake_margin_min",
               "detection.home.night_out_min", "detection.home.night_door_severity")),
    ("routine", ("detection.home.wellbeing_notices",)),
    ("falls", ("detection.fall.enabled", "detection.fall.cancel_window_s")),
    ("escalation", ("alerts.ack_timeout_s",)),
)


def sections(fields: list[FormField]) -> list[tuple[str, list[FormField]]]:
    """The fields grouped in the sections' order, each group in the form's own order; empty groups left out."""
    where = {path: key for key, paths in DETECTION_SECTIONS for path in paths}
    groups: dict[str, list[FormField]] = {key: [] for key, _ in (*DETECTION_SECTIONS, ("other", ()))}
    for f in fields:
        groups[where.get(f.path, "other")].append(f)
    return [(key, group) for key, group in groups.items() if group]
