"""What the care team may set per person; defaults are the issue's and common clinical thresholds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalsSettings:
    person: str = "resident"
    devices: frozenset[str] | None = None  # the person's wearables and meters; None: every device
    user_id: int | None = None  # the person's user on shared cuffs and scales; None: any
    # Heart rate at rest, with skin contact. Absolute bounds apply from the first day (urgent).
    hr_low_bpm: float = 40.0
    hr_high_bpm: float = 130.0
    hr_sustain_s: float = 600.0
    hr_max_gap_s: float = 120.0  # readings further apart than this break "sustained"
    hr_rest_settle_s: float = 600.0  # still for this long before a heart rate counts as resting
    hr_require_contact: bool = True
    # The person's own resting range (wellbeing), learned per 4-hour band of the day.
    hr_learn_days: int = 14
    hr_min_days: int = 3
    hr_mad_k: float = 4.0
    hr_min_margin_bpm: float = 15.0
    hr_personal_sustain_s: float = 1800.0
    # Oxygen saturation (urgent).
    spo2_low_pct: float = 88.0
    spo2_sustain_s: float = 600.0
    spo2_max_gap_s: float = 120.0
    spo2_spot_gap_s: float = 1800.0  # spot-checks this far apart still make one run
    # Temperature (°C at the body's core; armpit, finger and toe readings are raised by site_offset_c).
    fever_c: float = 38.0
    fever_urgent_c: float = 39.5
    hypothermia_c: float = 35.0
    site_offset_c: float = 0.5
    # Blood pressure (mmHg).
    bp_systolic_urgent: float = 180.0
    bp_diastolic_urgent: float = 120.0
    bp_systolic_notice: float = 160.0
    bp_diastolic_notice: float = 100.0
    bp_systolic_low_urgent: float = 80.0
    bp_systolic_low_notice: float = 90.0
    bp_learn_days: int = 30
    bp_min_readings: int = 5
    bp_mad_k: float = 4.0
    bp_min_deviation_mmhg: float = 20.0
    # Weight: a gain or loss over a few days (fluid retention in heart failure).
    weight_change_kg: float = 2.0
    weight_days: int = 3
    # Spot measurements older than this (sent late from a device's memory) are learned, not alerted.
    stale_after_s: float = 86400.0
