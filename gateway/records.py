"""The rows the store keeps: an alert and an outbox message, as the rest of the hub sees them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

OPEN_STATES = ("pending", "open")


@dataclass(frozen=True)
class OutboxRow:
    msg_id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    alert_id: str | None
    created_wall: float


@dataclass(frozen=True)
class AlertRow:
    id: str
    seq: int
    type: str
    severity: str
    state: str
    finding_key: str
    device: str | None
    room: str | None
    level: int
    test: bool
    boot_id: str
    detected_wall: float
    raised_wall: float
    clock_synced: bool
    evidence: dict[str, Any]
    first_published_wall: float | None
    acked_wall: float | None
    acked_by: str | None
    closed_reason: str | None
    last_sent_wall: float | None = None  # when it was last queued at its current level (escalation clock)


def alert_from_row(r: sqlite3.Row) -> AlertRow:
    return AlertRow(
        id=r["id"], seq=r["seq"], type=r["type"], severity=r["severity"], state=r["state"],
        finding_key=r["finding_key"], device=r["device"], room=r["room"], level=r["level"],
        test=bool(r["test"]), boot_id=r["boot_id"], detected_wall=r["detected_wall"],
        raised_wall=r["raised_wall"], clock_synced=bool(r["clock_synced"]),
        evidence=json.loads(r["evidence"]), first_published_wall=r["first_published_wall"],
        acked_wall=r["acked_wall"], acked_by=r["acked_by"], closed_reason=r["closed_reason"],
        last_sent_wall=r["last_sent_wall"],
    )

