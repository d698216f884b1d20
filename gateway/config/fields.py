"""Building blocks of the config schema: field metadata (``opt``) and the text patterns values must match."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, Literal

ROOM_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# A DNS name or an IPv4/IPv6 literal: nothing a URL, a space or a port could hide in.
HOST_PATTERN = r"^(\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?)$"
# MQTT topic levels without wildcards (+, #), empty levels or a leading $ (broker-internal).
TOPIC_PATTERN = r"^[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,7}$"
CLIENT_ID_PATTERN = r"^$|^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
TLS_PORT = 8883

RflinkKind = Literal["pir", "door", "sos", "bed", "seat", "toilet_flush", "cabinet", "fridge", "other"]


def opt(
    default: Any = dataclasses.MISSING,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    pattern: str | None = None,
    secret: bool = False,
    unit: str | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A schema field: a default plus the constraints shown in every error."""
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "pattern": pattern,
        "secret": secret,
        "unit": unit,
    }
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)
