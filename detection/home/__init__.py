"""Home monitoring from room sensors (docs/home-monitoring.md)."""

from detection.home.monitor import HomeMonitor
from detection.home.settings import HomeSettings

__all__ = ["HomeMonitor", "HomeSettings"]
