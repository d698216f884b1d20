"""The life of one alert as an explicit state machine (docs/alerts.md, "The state machine").

In the style of h11: every (state, event) pair that is legal is written out in
``TRANSITIONS`` with the state it leads to; anything else raises
``IllegalTransition``. A rule that asks for a step the table does not have is a
bug in the rules, and it must be loud, never a silent no-op that leaves a help
call in the wrong state.

``NEW`` is the state before the first event: it is never stored. ``PENDING``
and ``OPEN`` are *active* (the policy keeps them in memory, times them and
re-sends them); the other four are *final*: the only event they accept is a
(late or repeated) acknowledgement from the platform, which is recorded and
changes nothing else. A final alert never becomes active again.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class AlertState(StrEnum):
    NEW = "new"  # not yet stored: only the first event leaves it
    PENDING = "pending"  # held in its cancel window; the platform has not heard of it
    OPEN = "open"  # raised; waits for the platform's acknowledgement
    ACKED = "acked"  # the platform took it over
    CANCELLED = "cancelled"  # the wearer said they were fine within the window
    CLEARED = "cleared"  # the condition ended (device heard again, motion resumed)
    CLOSED = "closed"  # a notice: published once, needs no acknowledgement


class AlertEvent(StrEnum):
    RAISED = "raised"  # a finding with no cancel window (help call, inactivity, ...)
    HELD = "held"  # a finding with a cancel window (a fall)
    WINDOW_ENDED = "window_ended"  # the window ran out, or the hub restarted during it
    CANCELLED = "cancelled"  # the wearer's button (or a cancelled finding)
    RECOVERED = "recovered"  # the detector saw the wearer get up
    ESCALATED = "escalated"  # no acknowledgement in time, or pressed again after the repeat window
    PRESSED_AGAIN = "pressed_again"  # the same button while its alert is active
    ACKNOWLEDGED = "acknowledged"  # the platform's acknowledgement
    CLEARED = "cleared"  # the detector says the condition is over
    RESENT = "resent"  # the uplink connected: the same message again
    CLOSED_AS_NOTICE = "closed_as_notice"  # wellbeing notices: sent once, never open


S = AlertState
E = AlertEvent

TRANSITIONS: Mapping[tuple[AlertState, AlertEvent], AlertState] = MappingProxyType({
    (S.NEW, E.RAISED): S.OPEN,
    (S.NEW, E.HELD): S.PENDING,
    (S.NEW, E.CLOSED_AS_NOTICE): S.CLOSED,
    (S.PENDING, E.WINDOW_ENDED): S.OPEN,
    (S.PENDING, E.CANCELLED): S.CANCELLED,
    # The condition ended inside its window: reported like a cancel, at low priority.
    (S.PENDING, E.CLEARED): S.CANCELLED,
    # A recovered fall is still a fall: lowered to urgent, the window runs on.
    (S.PENDING, E.RECOVERED): S.PENDING,
    (S.PENDING, E.PRESSED_AGAIN): S.PENDING,
    (S.PENDING, E.ACKNOWLEDGED): S.ACKED,
    (S.OPEN, E.ESCALATED): S.OPEN,
    (S.OPEN, E.PRESSED_AGAIN): S.OPEN,
    (S.OPEN, E.RESENT): S.OPEN,
    # After the raise the platform was told: it hears of the recovery or the cancel,
    # and a person there closes the alert.
    (S.OPEN, E.RECOVERED): S.OPEN,
    (S.OPEN, E.CANCELLED): S.OPEN,
    (S.OPEN, E.ACKNOWLEDGED): S.ACKED,
    (S.OPEN, E.CLEARED): S.CLEARED,
    # The platform may acknowledge twice, or acknowledge a notice or a cancelled fall:
    # recorded, nothing else changes.
    (S.ACKED, E.ACKNOWLEDGED): S.ACKED,
    (S.CANCELLED, E.ACKNOWLEDGED): S.CANCELLED,
    (S.CLEARED, E.ACKNOWLEDGED): S.CLEARED,
    (S.CLOSED, E.ACKNOWLEDGED): S.CLOSED,
})

ACTIVE = frozenset({AlertState.PENDING, AlertState.OPEN})
FINAL = frozenset(AlertState) - ACTIVE - {AlertState.NEW}


class IllegalTransition(Exception):
    """A rule asked for a step the alert's state machine does not have: a bug in the rules."""

    def __init__(self, state: AlertState, event: AlertEvent, alert_id: str | None = None) -> None:
        legal = sorted(e.value for (s, e) in TRANSITIONS if s is state)
        who = f"alert {alert_id}" if alert_id else "an alert"
        super().__init__(
            f"{who} in state {state.value!r} cannot take event {event.value!r}; "
            f"legal events from {state.value!r}: {', '.join(legal) or 'none'} "
            "(see gateway/alerts/states.py TRANSITIONS)"
        )
        self.state = state
        self.event = event
        self.alert_id = alert_id


def next_state(state: AlertState | str, event: AlertEvent, alert_id: str | None = None) -> AlertState:
    """The state ``event`` leads to from ``state``; ``IllegalTransition`` if the table has no such step."""
    current = AlertState(state)
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        raise IllegalTransition(current, event, alert_id) from None
