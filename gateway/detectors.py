"""The detectors the daemon runs, built from the config.

``carehub run`` and every ``carehub replay`` build their detectors here, so that
replay runs exactly the code and default settings that the daemon runs.
"""

from __future__ import annotations

from dataclasses import replace

from detection.events import Detector
from detection.fall import FallDetector, FallWearable
from detection.help_call import HelpCallDetector
from detection.home import HomeMonitor, HomeSettings
from detection.press_patterns import PressMap, PressTiming
from detection.radar_fall import RadarFallDetector
from detection.supervision import DeviceSupervisor
from detection.vitals import VitalsMonitor, VitalsSettings
from detection.worn import WearSettings, WearSupervisor
from drivers.rflink.codec import REPEAT_WINDOW_S
from gateway.config import Config
from gateway.config.schema import (
    METER_PROFILES,
    HomeConfig,
    RadarConfig,
    RflinkDevice,
    VitalsConfig,
    WearableConfig,
    ZigbeeDeviceConfig,
)


def build_detectors(cfg: Config) -> list[Detector]:
    supervised: dict[str, tuple[float, str | None]] = {
        d.id: (d.offline_after_s, d.room) for d in cfg.devices
    }
    # A cuff or a scale connects only after a measurement: its silence is not a fault.
    supervised |= {w.id: (0.0 if w.profile in METER_PROFILES else w.offline_after_s, None) for w in cfg.wearables}
    worn = [w.id for w in cfg.wearables if w.profile not in METER_PROFILES]
    supervised |= {r.id: (r.offline_after_s, r.room) for r in cfg.radars}
    supervised |= {z.id: (z.offline_after_s, z.room) for z in cfg.zigbee_devices}
    supervised |= {d.id: (d.offline_after_s, d.room) for d in cfg.rtl433_devices}
    detectors: list[Detector] = [HelpCallDetector(press_maps(cfg), press_timing(cfg)),
                                 DeviceSupervisor(supervised, frozenset(worn))]
    if worn:
        # On even with vital signs off: it says when fall detection is not protecting the person.
        detectors.append(WearSupervisor(worn, wear_settings(cfg.detection.vitals)))
    if cfg.detection.vitals.enabled and cfg.wearables:
        detectors.append(VitalsMonitor(vitals_settings(cfg.detection.vitals, [w.id for w in cfg.wearables])))
    if cfg.detection.fall.enabled and cfg.radars:
        # A radar's own fall report goes through the same cancel window and escalation as a wearable's.
        detectors.append(RadarFallDetector({r.id: radar_cancel_window_s(cfg, r) for r in cfg.radars}))
    if cfg.detection.fall.enabled and cfg.wearables:
        detectors.append(FallDetector({
            w.id: FallWearable(placement=w.placement, cancel_window_s=cancel_window_s(cfg, w))
            for w in cfg.wearables
        }))
    home = cfg.detection.home
    if home.enabled:
        # Radar presence goes to the home monitor too: it alone decides inactivity and room dwell.
        detectors.append(HomeMonitor(replace(home_settings(home), radar_still_min=tuple(
            (r.id, r.still_alert_min) for r in cfg.radars if r.still_alert_min is not None))))
    return detectors


def press_maps(cfg: Config) -> dict[str, PressMap]:
    """Each button's press patterns (docs/alerts.md, "Press patterns"); without one, every press is an emergency."""
    buttons: list[RflinkDevice | ZigbeeDeviceConfig | WearableConfig] = [*cfg.devices, *cfg.zigbee_devices,
                                                                          *cfg.wearables]
    return {b.id: b.presses.press_map() for b in buttons if b.presses is not None}


def press_timing(cfg: Config) -> PressTiming:
    return PressTiming(double_press_s=cfg.buttons.double_press_s, long_press_s=cfg.buttons.long_press_s,
                       frame_gap_s=REPEAT_WINDOW_S)


def vitals_settings(v: VitalsConfig, devices: list[str]) -> VitalsSettings:
    return VitalsSettings(
        devices=frozenset(devices), user_id=None if v.user_id < 0 else v.user_id,
        hr_low_bpm=v.hr_low_bpm, hr_high_bpm=v.hr_high_bpm, hr_sustain_s=v.hr_sustain_min * 60.0,
        spo2_low_pct=v.spo2_low_pct, spo2_sustain_s=v.spo2_sustain_min * 60.0, fever_c=v.fever_c,
        bp_systolic_urgent=v.bp_systolic_urgent, bp_diastolic_urgent=v.bp_diastolic_urgent,
        bp_systolic_low_urgent=v.bp_systolic_low_urgent, weight_change_kg=v.weight_change_kg,
        weight_days=v.weight_days,
    )


def wear_settings(v: VitalsConfig) -> WearSettings:
    start, end = v.waking_hours.split("-")
    return WearSettings(not_worn_after_s=v.not_worn_after_h * 3600.0, waking_hours=(int(start), int(end)))


def cancel_window_s(cfg: Config, wearable: WearableConfig) -> float:
    """The wearable's own cancel window, else the one the Detection page sets for all."""
    own = wearable.cancel_window_s
    return cfg.detection.fall.cancel_window_s if own is None else own


def radar_cancel_window_s(cfg: Config, radar: RadarConfig) -> float:
    own = radar.cancel_window_s
    return cfg.detection.fall.cancel_window_s if own is None else own


def home_settings(home: HomeConfig) -> HomeSettings:
    quiet = None
    if home.quiet_hours:
        start, end = home.quiet_hours.split("-")
        quiet = (int(start), int(end))
    return HomeSettings(
        inactivity_floor_min=home.inactivity_floor_min, inactivity_ceiling_min=home.inactivity_ceiling_min,
        sleep_ceiling_min=home.sleep_ceiling_min, quiet_hours=quiet, dwell_rooms=tuple(home.dwell_rooms),
        dwell_floor_min=home.dwell_floor_min, dwell_ceiling_min=home.dwell_ceiling_min,
        night_start_hour=home.night_start_hour, night_end_hour=home.night_end_hour,
        wake_margin_min=home.wake_margin_min, night_door_severity=home.night_door_severity,
        night_out_min=home.night_out_min, wellbeing_notices=home.wellbeing_notices,
        away_after_min=home.away_after_min,
    )
