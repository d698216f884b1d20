"""Bluetooth LE wearables: pure codecs per GATT profile (``profiles/``).

The transport (bleak) that feeds them is not part of this version; see
docs/wearables.md.
"""
