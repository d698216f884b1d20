"""The detectors the daemon runs, built from the config.

``carehub run`` and every ``carehub replay`` build their detectors here, so that
replay runs exactly the code and default settings that the daemon runs.
"""

from __future__ import annotations

from detection.events import Detector
from detection.fall import FallDetector, FallWearable
from detection.help_call import HelpCallDetector
from detection.home import HomeMonitor, HomeSettings
from detection.radar_fall import RadarFallDetector
from detection.supervision import DeviceSupervisor
from gateway.config import Config
from gateway.config.schema import HomeConfig, RadarConfig, WearableConfig


def build_detectors(cfg: Config) -> list[Detector]:
    supervised: dict[str, tuple[float, str | None]] = {
        d.id: (d.offline_after_s, d.room) for d in cfg.devices
    }
    supervised |= {w.id: (w.offline_after_s, None) for w in cfg.wearables}
    supervised |= {r.id: (r.offline_after_s, r.room) for r in cfg.radars}
    supervised |= {z.id: (z.offline_after_s, z.room) for z in cfg.zigbee_devices}
    detectors: list[Detector] = [HelpCallDetector(), DeviceSupervisor(supervised)]
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
        detectors.append(HomeMonitor(home_settings(home)))
    return detectors


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
