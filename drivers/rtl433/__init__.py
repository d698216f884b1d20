"""433 MHz sensors decoded by rtl_433 (an SDR dongle): pure codec + a supervised process or MQTT."""

from drivers.rtl433.codec import Heard, Rtl433Codec, Rtl433Device
from drivers.rtl433.transport import MqttSource, Rtl433Driver

__all__ = ["Heard", "MqttSource", "Rtl433Codec", "Rtl433Device", "Rtl433Driver"]
