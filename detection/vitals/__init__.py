"""Vital-sign detectors: heart rate, oxygen saturation, temperature, blood pressure, weight (docs/vitals.md)."""

from detection.vitals.monitor import VitalsMonitor
from detection.vitals.settings import VitalsSettings

__all__ = ["VitalsMonitor", "VitalsSettings"]
