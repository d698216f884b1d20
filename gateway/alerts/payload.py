"""The alert message the platform receives (docs/mqtt.md, docs/asyncapi.yaml).

The outbox stores the message as it was when the alert changed. Two fields can
only be known when the message actually leaves the hub, so they are filled in
by ``finalize`` at publish time: ``sent_at`` and ``historical`` (the message is
late: it was raised in an earlier boot, or longer ago than the configured
limit, e.g. because the broker was unreachable).
"""

from __future__ import annotations

import json
import time
from typing import Any

from gateway.clock import iso
from gateway.store import AlertRow

_PRIVATE_BOOT = "_boot"
_PRIVATE_MONO = "_mono"


def alert_message(
    row: AlertRow, site: str, *, state: str, level: int, enqueued_mono: float,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """The message for ``row`` as it is now; ``enqueued_mono`` is when it enters the outbox."""
    msg: dict[str, Any] = {
        "id": row.id,
        "seq": row.seq,
        "site": site,
        "type": row.type,
        "severity": row.severity,
        "state": state,
        "level": level,
        "test": row.test,
        "detected_at": iso(row.detected_wall),
        "raised_at": iso(row.raised_wall),
        "clock_synced": row.clock_synced,
        "room": row.room,
        "device": row.device,
        "evidence": row.evidence,
    }
    if extra:
        msg.update(extra)
    msg[_PRIVATE_BOOT] = row.boot_id
    msg[_PRIVATE_MONO] = enqueued_mono
    return json.dumps(msg, separators=(",", ":")).encode()


def request_message(row: AlertRow, site: str, *, enqueued_mono: float, note: str | None = None) -> bytes:
    """A call request (a button asking for a service), for ``…/call_request`` (docs/mqtt.md)."""
    msg: dict[str, Any] = {
        "id": row.id,
        "seq": row.seq,
        "site": site,
        "type": row.type,
        "service": row.evidence.get("service"),
        "state": "open",
        "device": row.device,
        "room": row.room,
        "pattern": row.evidence.get("pattern"),
        "requests": int(row.evidence.get("requests", 1)),
        "requested_at": iso(row.detected_wall),
        "clock_synced": row.clock_synced,
    }
    if note:
        msg["note"] = note
    msg[_PRIVATE_BOOT] = row.boot_id
    msg[_PRIVATE_MONO] = enqueued_mono
    return json.dumps(msg, separators=(",", ":")).encode()


def finalize(payload: bytes, *, boot_id: str, historical_after_s: float) -> bytes:
    """Fill in ``sent_at`` and ``historical``; drop the hub-private bookkeeping."""
    try:
        msg = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(msg, dict) or _PRIVATE_BOOT not in msg:
        return payload
    boot = msg.pop(_PRIVATE_BOOT)
    mono = msg.pop(_PRIVATE_MONO, None)
    # Late means: detected in an earlier boot (the hub restarted in between), or
    # this message waited in the outbox longer than the limit (broker away).
    late = boot != boot_id or mono is None or time.monotonic() - mono > historical_after_s
    msg["historical"] = bool(late)
    msg["sent_at"] = iso(time.time())
    return json.dumps(msg, separators=(",", ":")).encode()
