"""A button's call request in the alert book: what differs from an alert (docs/alerts.md, "Press patterns").

A call request is stored, sent, re-sent on connect and acknowledged like an alert,
but it is not urgent: severity ``info``, never escalated, no cancel window, its own
topic and payload (``payload.request_message``). The same service asked for again
while its request is open is counted into it.
"""

from __future__ import annotations

from dataclasses import replace

from detection.events import Finding
from gateway.alerts.book import Live, step
from gateway.alerts.effects import Effect, Log, UpdateAlert
from gateway.alerts.states import AlertEvent
from gateway.store import AlertRow

REQUEST_TYPE = "call_request"


def fold_request(live: Live, f: Finding) -> list[Effect]:
    """The same service asked again while open: counted in, nothing new sent, never escalated."""
    step(live, AlertEvent.PRESSED_AGAIN)
    requests = int(live.row.evidence.get("requests", 1)) + 1
    live.row = row = replace(live.row, evidence={**live.row.evidence, "requests": requests})
    return [UpdateAlert(row, {"evidence": row.evidence}),
            Log("info", "request.folded", {"id": row.id, "service": row.evidence.get("service"),
                                           "button": f.device, "requests": requests})]


def raised_log(row: AlertRow, f: Finding) -> Log:
    return Log("info", "request.raised", {"id": row.id, "service": row.evidence.get("service"), "button": f.device,
                                          "pattern": row.evidence.get("pattern")})
