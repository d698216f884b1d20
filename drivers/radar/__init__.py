"""mmWave presence and fall radars on a serial port (Hi-Link LD2410, Seeed MR60FDA2): pure codecs + transport."""

from drivers.radar.observations import MODELS, RadarDecoder, RadarSpec
from drivers.radar.transport import RadarDriver, RadarGroup

__all__ = ["MODELS", "RadarDecoder", "RadarDriver", "RadarGroup", "RadarSpec"]
