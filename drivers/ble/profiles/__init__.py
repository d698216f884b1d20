"""GATT profiles: notification bytes -> observations. Pure and stateful per wearable.

Each decoder is made for one wearable (its configured id and placement) and
given every notification with the characteristic's UUID and the time it was
received. Malformed notifications are counted (``malformed``), never raised.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from detection.events import Observation, Stamp


def uuid16(short: int) -> str:
    """A Bluetooth SIG 16-bit UUID in the 128-bit form bleak reports."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


class ProfileDecoder(Protocol):
    device: str
    counters: Counter[str]

    def notify_uuids(self) -> tuple[str, ...]: ...

    def decode(self, char_uuid: str, data: bytes, at: Stamp) -> list[Observation]: ...
