"""Mains lost and back, as one incident per cut (docs/mqtt.md, "Power"; docs/fleet.md).

When a district loses power, the platform should see one ``power`` incident per
home, not thousands of hubs gone offline followed by an alert storm. This is the
pure part: readings of the mains (True: present, False: absent, None: cannot
tell) on a monotonic clock in, at most two reports per incident out:
``on_battery`` once the mains has been absent for ``lost_after_s``, and
``restored`` once it has been present again for ``restored_after_s``. A
flicker inside an incident is counted, not reported.

The open incident is persisted (``snapshot``/``restore``, the store's ``kv``),
so a hub whose UPS ran flat and that boots when the power returns reports the
same incident as restored (``hub_restarted``), with how long it ran on battery
as far as it recorded (a heartbeat while on battery) and how long it was off.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

HEARTBEAT_S = 60.0  # while on battery, how often the incident's "still alive" time is saved


@dataclass
class Incident:
    id: str
    cut_wall: float
    cut_synced: bool
    source: str
    reported_lost: bool = False
    last_on_battery_wall: float | None = None
    flickers: int = 0
    from_previous_boot: bool = False


@dataclass(frozen=True)
class PowerReport:
    """One ``power`` message: ``state`` is ``on_battery`` or ``restored``."""

    state: str
    incident: Incident
    restored_wall: float | None = None
    battery_pct: float | None = None
    clock_synced: bool = True
    seen_off: bool = True  # this boot saw the mains absent (False: booted after dying on battery)

    def message(self, site: str, iso: Callable[[float | None], str | None]) -> dict[str, Any]:
        inc = self.incident
        on_battery_s = hub_off_s = None
        if self.state == "restored" and self.restored_wall is not None:
            last = self.restored_wall if self.seen_off else inc.last_on_battery_wall
            if last is not None:
                on_battery_s = round(max(0.0, last - inc.cut_wall), 1)
                hub_off_s = round(max(0.0, self.restored_wall - last), 1)
        return {
            "site": site, "type": "power", "state": self.state, "incident": inc.id, "source": inc.source,
            "cut_at": iso(inc.cut_wall),
            "restored_at": iso(self.restored_wall),
            "on_battery_s": on_battery_s, "hub_off_s": hub_off_s, "hub_restarted": inc.from_previous_boot,
            "flickers": inc.flickers, "battery_pct": self.battery_pct,
            "clock_synced": bool(self.clock_synced and inc.cut_synced),
        }


class MainsWatch:
    def __init__(self, *, lost_after_s: float, restored_after_s: float,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex) -> None:
        self.lost_after_s = lost_after_s
        self.restored_after_s = restored_after_s
        self._new_id = new_id
        self.incident: Incident | None = None
        self.changed = False  # the incident changed: save the snapshot
        self._off_since: tuple[float, float] | None = None  # (monotonic, wall) of the first absent reading
        self._on_since: tuple[float, float] | None = None
        self._boot_wall: float | None = None
        self._seen_off = False  # the mains was seen absent in this boot
        self.unreadable = 0

    # --- persistence ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any] | None:
        return asdict(self.incident) if self.incident is not None else None

    def restore(self, state: dict[str, Any] | None, boot_wall: float) -> None:
        """An incident left open by the previous run; ``boot_wall`` is when this boot began."""
        self._boot_wall = boot_wall
        if not state:
            return
        try:
            inc = Incident(**{k: state[k] for k in Incident.__dataclass_fields__ if k in state})
            inc.cut_wall = float(inc.cut_wall)
            if inc.last_on_battery_wall is not None:
                inc.last_on_battery_wall = float(inc.last_on_battery_wall)
        except (TypeError, ValueError):
            return  # a damaged snapshot: no incident rather than a crash
        inc.from_previous_boot = True
        self.incident = inc

    # --- readings -------------------------------------------------------------------------------

    def observe(self, mains: bool | None, *, t: float, wall: float, synced: bool, source: str,
                battery_pct: float | None = None) -> list[PowerReport]:
        self.changed = False
        if mains is None:
            self.unreadable += 1
            return []
        return self._absent(t, wall, synced, source, battery_pct) if not mains else \
            self._present(t, wall, synced, battery_pct)

    def _absent(self, t: float, wall: float, synced: bool, source: str, pct: float | None) -> list[PowerReport]:
        if self._on_since is not None and self.incident is not None:
            self.incident.flickers += 1  # back for a moment, then gone again: the same incident
            self.changed = True
        self._on_since = None
        self._seen_off = True
        if self._off_since is None:
            self._off_since = (t, wall)
        inc = self.incident
        if inc is None:
            if t - self._off_since[0] < self.lost_after_s:
                return []
            self.incident = inc = Incident(self._new_id(), self._off_since[1], synced, source)
        out = []
        if not inc.reported_lost:
            inc.reported_lost = True
            inc.last_on_battery_wall = wall
            self.changed = True
            out.append(PowerReport("on_battery", inc, battery_pct=pct, clock_synced=synced))
        elif inc.last_on_battery_wall is None or wall - inc.last_on_battery_wall >= HEARTBEAT_S \
                or wall < inc.last_on_battery_wall:
            inc.last_on_battery_wall = wall
            self.changed = True
        return out

    def _present(self, t: float, wall: float, synced: bool, pct: float | None) -> list[PowerReport]:
        self._off_since = None
        if self._on_since is None:
            self._on_since = (t, wall)
        inc = self.incident
        if inc is None or t - self._on_since[0] < self.restored_after_s:
            return []
        # A hub that booted into a present mains after dying on battery: the power came back
        # (at the latest) when it booted.
        died = inc.from_previous_boot and not self._seen_off and self._boot_wall is not None
        restored = self._boot_wall if died and self._boot_wall is not None else self._on_since[1]
        self.incident = None
        self.changed = True
        return [PowerReport("restored", inc, restored_wall=restored, battery_pct=pct, clock_synced=synced,
                            seen_off=not died)]
