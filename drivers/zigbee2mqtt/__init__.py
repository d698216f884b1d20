"""Zigbee sensors through a Zigbee2MQTT instance's MQTT broker: pure codec + subscriber transport."""

from drivers.zigbee2mqtt.codec import BridgeDevice, Zigbee2MqttCodec, ZigbeeDevice
from drivers.zigbee2mqtt.transport import BrokerSettings, Zigbee2MqttDriver

__all__ = ["BridgeDevice", "BrokerSettings", "Zigbee2MqttCodec", "Zigbee2MqttDriver", "ZigbeeDevice"]
