"""What the care platform may change remotely (``request/set_config``), and within which bounds.

The platform channel is a trust boundary: anyone who can publish on the hub's
request topic (a leaked broker password, a misconfigured ACL) must not be able to
switch the hub off. So the platform may tune how the hub watches (detection
limits, escalation timing, notices) within bounds that keep it watching, and may
add devices. It may never touch where the hub connects or stores (``platform``,
``site``, ``storage``, ``web``, ``logging``): those are changed on the hub's own
page or file, by someone in the home. Removing or changing devices, switching a
detector or a radio off, and limits outside the everyday bounds need an explicit
``maintenance`` object with a reason; such a change is audited as maintenance and
shown on the technician's page until a technician or the platform clears it
(docs/mqtt.md, "Trust").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.config import Config, FieldError, differences, to_data

NEVER = ("platform", "site", "storage", "web", "logging")
# Switching a radio's settings can blind the hub to every sensor behind it.
MAINTENANCE_SECTIONS = ("rflink", "ble")
ALLOWED_SECTIONS = ("alerts", "detection", "devices", "wearables")
# Everyday bounds for the platform, tighter than the schema's: inside them the hub
# still escalates and still notices a person who stopped moving within hours.
EVERYDAY_BOUNDS: dict[str, tuple[float, float]] = {
    "alerts.ack_timeout_s": (15, 600),
    "alerts.max_escalation_level": (1, 10),
    "alerts.help_repeat_window_s": (0, 600),
    "detection.fall.cancel_window_s": (5, 120),
    "detection.home.inactivity_ceiling_min": (60, 8 * 60),
    "detection.home.sleep_ceiling_min": (6 * 60, 14 * 60),
    "detection.home.dwell_ceiling_min": (20, 180),
    "detection.home.night_out_min": (5, 120),
    "detection.home.away_after_min": (2, 60),
    "detection.vitals.hr_low_bpm": (30, 50),
    "detection.vitals.hr_high_bpm": (100, 160),
    "detection.vitals.spo2_low_pct": (80, 92),
    "detection.vitals.not_worn_after_h": (1, 8),
}
# Switching these off stops a detector.
DETECTOR_SWITCHES = ("detection.fall.enabled", "detection.home.enabled", "detection.vitals.enabled")
MAX_QUIET_HOURS = 4  # a longer daily window of "never raise inactivity" is a detector switched off
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class Maintenance:
    reason: str
    by: str


def parse_maintenance(body: dict[str, Any]) -> Maintenance | None:
    """The request's ``maintenance`` object, or None; raises ValueError when it is malformed."""
    raw = body.get("maintenance")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("reason"), str) or not raw["reason"].strip():
        raise ValueError("maintenance must be an object with a non-empty 'reason' (and optionally 'by')")
    by = raw.get("by", "platform")
    if not isinstance(by, str):
        raise ValueError("maintenance.by must be a string")
    return Maintenance(raw["reason"].strip()[:MAX_REASON_CHARS], by.strip()[:100] or "platform")


def check(old: Config, new: Config, maintenance: Maintenance | None) -> tuple[list[FieldError], list[str]]:
    """Errors for every change the platform may not make; and the paths that needed maintenance.

    ``new`` is already valid by the schema; this only decides who may make the change.
    """
    errors: list[FieldError] = []
    needs_maintenance: list[str] = []

    def maintenance_only(path: str, value: Any, why: str) -> None:
        if maintenance is None:
            errors.append(FieldError(path, value, f"{why}: only with a 'maintenance' object giving the reason"))
        else:
            needs_maintenance.append(path)

    old_data, new_data = to_data(old), to_data(new)
    for path, _before, after in differences(old_data, new_data):
        section = path.split(".", 1)[0].split("[", 1)[0]
        if section in NEVER:
            errors.append(FieldError(path, "(not shown)", f"not settable by the platform: '{section}' is "
                                     "changed on the hub's own page or file only"))
        elif section in MAINTENANCE_SECTIONS:
            maintenance_only(path, after, "a radio setting")
        elif section not in ALLOWED_SECTIONS:
            errors.append(FieldError(path, after, "a setting the platform may change"))
        elif path in DETECTOR_SWITCHES and after is False:
            maintenance_only(path, after, "switches a detector off")
        elif path in EVERYDAY_BOUNDS and not _within(after, EVERYDAY_BOUNDS[path]):
            lo, hi = EVERYDAY_BOUNDS[path]
            maintenance_only(path, after, f"outside the everyday range {lo:g} to {hi:g}")
        elif path == "detection.home.quiet_hours" and _quiet_hours(after) > MAX_QUIET_HOURS:
            maintenance_only(path, after, f"quiet hours longer than {MAX_QUIET_HOURS} h a day")
    for section in ("devices", "wearables"):
        before = {d["id"]: d for d in old_data[section]}
        after_ids = {d["id"]: d for d in new_data[section]}
        for dev_id, dev in before.items():
            if dev_id not in after_ids:
                maintenance_only(f"{section}.{dev_id}", "(removed)", "removes a device")
            elif after_ids[dev_id] != dev:
                maintenance_only(f"{section}.{dev_id}", "(changed)", "changes a device")
    return errors, sorted(set(needs_maintenance))


def _within(value: Any, bounds: tuple[float, float]) -> bool:
    return isinstance(value, int | float) and bounds[0] <= value <= bounds[1]


def _quiet_hours(text: Any) -> int:
    if not isinstance(text, str) or "-" not in text:
        return 0
    start, end = (int(x) for x in text.split("-"))
    if start == end:
        return 0
    return (end - start) % 24 or 24  # "0-24" is the whole day
