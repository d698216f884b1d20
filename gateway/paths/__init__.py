"""Alarm paths besides the MQTT uplink: the cellular second path (SMS), docs/second-path.md."""
