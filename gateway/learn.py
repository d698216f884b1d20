"""Learn mode: the radio codes the hub heard lately, for the installer to add as sensors."""

from __future__ import annotations

from collections import deque
from typing import Any

from drivers.rflink.codec import Heard

HEARD_KEPT = 50


class HeardCodes:
    """The last codes heard, numbered so that the page can ask for those after the last it showed."""

    def __init__(self, kept: int = HEARD_KEPT) -> None:
        self._heard: deque[dict[str, Any]] = deque(maxlen=kept)
        self._seq = 0

    def add(self, heard: Heard, wall: float) -> None:
        self._seq += 1
        self._heard.append({
            "seq": self._seq, "wall": wall, "protocol": heard.protocol, "address": heard.address,
            "switch": heard.switch, "command": heard.command, "battery": heard.battery, "device": heard.device,
        })

    def since(self, after: int) -> list[dict[str, Any]]:
        return [dict(h) for h in self._heard if h["seq"] > after]
