"""Fall detection from a wearable's accelerometer (docs/fall-detection.md)."""

from detection.fall.detector import FallDetector, FallWearable
from detection.fall.model import FallParams

__all__ = ["FallDetector", "FallParams", "FallWearable"]
