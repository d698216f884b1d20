"""Rooms on the device forms: chosen from the rooms the hub knows, or a new one typed in words.

A room is an id in the config (``bathroom``, ``guest_room``: detectors and the
platform match on it), so the page offers the catalogue's rooms and those the
home already uses, and turns a new room typed as words ("Guest room") into an id
rather than asking the installer to type one that matches a pattern.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from gateway.config import Config

NEW_ROOM = "_new"  # the choice "another room", and the suffix of the text field that names it
MAX_ROOM = 32


def room_id(text: str) -> str | None:
    """"Guest room" -> ``guest_room``; None when nothing of it can be an id (only non-Latin letters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")
    if not slug:
        return None
    if not slug[0].isalpha():
        slug = "room_" + slug
    return slug[:MAX_ROOM].rstrip("_")


def rooms_in_use(cfg: Config) -> list[str]:
    rooms: set[str] = set(cfg.detection.home.dwell_rooms)
    for section in (cfg.devices, cfg.zigbee_devices, cfg.rtl433_devices, cfg.radars):
        rooms |= {d.room for d in section}
    return sorted(rooms)


def room_choices(known: Iterable[str], cfg: Config, current: str = "") -> list[str]:
    """The catalogue's rooms, then the home's own, then the one the form shows; each once."""
    out = list(dict.fromkeys([*known, *rooms_in_use(cfg), *([current] if current else [])]))
    return [r for r in out if r != NEW_ROOM]
