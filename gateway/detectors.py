"""The detectors the daemon runs, built from the config.

``carehub run`` and every ``carehub replay`` build their detectors here, so that
replay runs exactly the code and default settings that the daemon runs.
"""

from __future__ import annotations

from detection.events import Detector
from detection.fall import FallDetector, FallWearable
from detection.help_call import HelpCallDetector
from detection.supervision import DeviceSupervisor
from gateway.config import Config


def build_detectors(cfg: Config) -> list[Detector]:
    supervised: dict[str, tuple[float, str | None]] = {
        d.id: (d.offline_after_s, d.room) for d in cfg.devices
    }
    supervised |= {w.id: (w.offline_after_s, None) for w in cfg.wearables}
    detectors: list[Detector] = [HelpCallDetector(), DeviceSupervisor(supervised)]
    if cfg.detection.fall.enabled and cfg.wearables:
        detectors.append(FallDetector({
            w.id: FallWearable(placement=w.placement, cancel_window_s=w.cancel_window_s) for w in cfg.wearables
        }))
    return detectors
