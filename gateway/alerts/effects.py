"""What goes into the alert rules, and what comes out of them.

The rules (``rules.py``) never touch the clock, the store or the network: the
policy hands them an *input* carrying everything they need to know, and they
answer with *effects*, plain data that ``apply.py`` carries out in one SQLite
transaction. The same input on the same alerts gives the same effects, which is
what lets a property test drive them through thousands of histories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from detection.events import Finding
from gateway.store import AlertRow

# --- inputs -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Now:
    """The hub's clocks at the moment of an input."""

    t: float  # the monotonic timeline: every countdown is a difference of these
    wall: float  # POSIX time: stored with the alert so the escalation clock survives a restart
    boot_id: str
    synced: bool  # the wall clock was synchronised


@dataclass(frozen=True, slots=True)
class FindingReceived:
    """A detector's finding (or the technician's test alarm, ``test=True``)."""

    finding: Finding
    detected_wall: float  # the finding's stamp in POSIX time
    now: Now
    test: bool = False


@dataclass(frozen=True, slots=True)
class AckReceived:
    """The platform acknowledged ``alert_id``; ``row`` is that alert as the hub knows it, if it does."""

    alert_id: str
    by: str | None
    row: AlertRow | None
    now: Now


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: end cancel windows, escalate what is overdue."""

    now: Now


@dataclass(frozen=True, slots=True)
class Connected:
    """The uplink connected; ``waiting`` are alerts that still have a message in the outbox."""

    waiting: frozenset[str]


@dataclass(frozen=True, slots=True)
class Resumed:
    """The hub started; ``rows`` are the active alerts the previous run left, oldest first."""

    rows: tuple[AlertRow, ...]
    now: Now


Input = FindingReceived | AckReceived | Tick | Connected | Resumed

# --- effects ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreAlert:
    """Insert a new alert row; it is numbered (``seq``) when applied."""

    row: AlertRow


@dataclass(frozen=True, slots=True)
class UpdateAlert:
    """Write ``fields`` of the stored alert ``row`` (the alert as the rules hold it now)."""

    row: AlertRow
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Queue the alert message for ``row`` with these fields, durably (or send it from memory)."""

    row: AlertRow
    state: str
    level: int
    severity: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell the hub's listeners (the page, the event stream) that an alert changed."""

    alert_id: str
    state: str
    text: str


@dataclass(frozen=True, slots=True)
class WakeUplink:
    """Something was queued: the uplink should publish now."""


@dataclass(frozen=True, slots=True)
class Log:
    level: Literal["debug", "info", "warning"]
    event: str
    fields: Mapping[str, Any] = field(default_factory=dict)


Effect = StoreAlert | UpdateAlert | Enqueue | Notify | WakeUplink | Log
WRITES = (StoreAlert, UpdateAlert, Enqueue)
