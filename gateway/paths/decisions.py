"""The second path's decisions, pure: which SMS are due, when a failed one is tried again,
when the path counts as unavailable, and when the periodic path test runs.

No modem, store, clock or network here: the component (``second_path.py``) reads
those and hands the facts in, so that the rules can be tested through thousands of
histories (tests/unit/test_second_path_decisions.py).

The rules (docs/second-path.md says the same for people):

* An **emergency or urgent** alert that is open (raised, not acknowledged, not a
  test) goes on the second path when the platform has not acknowledged it within
  ``after_s`` of being raised, or at once when the uplink is down.
* Once an alert is on the path, each **escalation level** it reaches is sent to
  every recipient once: the key of an SMS is (alert, level, number), and a key that
  was sent (or whose send was interrupted by a restart, so may have been sent) is
  never sent again. A level the alert passed before it went on the path is skipped:
  the first SMS carries the level the alert has then.
* Two levels of one alert reach a phone at least ``LEVEL_GAP_S`` apart: with the
  defaults (``after_s`` = ``ack_timeout_s`` = 60 s) the first SMS and the first
  escalation fall due together, and two alarm texts in the same second help nobody.
  A level still waiting for its gap when the next one comes is skipped.
* A send the modem **refused** is tried again after 5, 15, 30 and then every 60 s,
  at most ``MAX_ATTEMPTS`` times per key, only while the alert is still open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

ESCALATING = ("emergency", "urgent")
RETRY_S = (5.0, 15.0, 30.0, 60.0)
MAX_ATTEMPTS = 20
UPLINK_GRACE_S = 5.0
LEVEL_GAP_S = 30.0  # a connect at start or a reconnect takes a moment: not yet "down"


@dataclass(frozen=True, slots=True)
class Watched:
    """An active alert as the second path sees it; ``due_t`` is when it goes on the path (monotonic)."""

    alert_id: str
    severity: str
    state: str
    level: int
    test: bool
    raised_seq: int  # the alert's seq: older alerts first
    due_t: float


@dataclass(frozen=True, slots=True)
class SendKey:
    alert_id: str
    level: int
    number: str


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # the modem or the network refused it: tried again
    INTERRUPTED = "interrupted"  # the hub stopped mid-send: it may have left, so it is never sent again
    GAVE_UP = "gave_up"  # MAX_ATTEMPTS failures


@dataclass(frozen=True, slots=True)
class SendState:
    attempts: int = 0
    outcome: Outcome | None = None
    retry_t: float = 0.0  # monotonic: not before this

    @property
    def final(self) -> bool:
        return self.outcome in (Outcome.SENT, Outcome.INTERRUPTED, Outcome.GAVE_UP)


def due_at(first_seen_t: float, age_s: float, after_s: float) -> float:
    """When an alert first seen at ``first_seen_t``, raised ``age_s`` before, goes on the path.

    An age that cannot be trusted (negative: the wall clock went back) counts as overdue,
    as in the escalation rules: sending early is the safe side of that doubt.
    """
    if age_s < 0:
        return first_seen_t
    return first_seen_t + max(0.0, after_s - age_s)


def eligible(w: Watched) -> bool:
    return w.state == "open" and w.severity in ESCALATING and not w.test


def due_sends(
    alerts: Sequence[Watched],
    numbers: Sequence[str],
    ledger: Mapping[SendKey, SendState],
    on_path: frozenset[str],
    *,
    uplink_down: bool,
    now_t: float,
    last_sent_t: Mapping[tuple[str, str], float] | None = None,
) -> list[SendKey]:
    """The SMS to send now, most important first: emergencies, then older alerts, then recipients in order.

    ``on_path`` are the alerts that already had an SMS (at any level): their new levels go at once,
    but not sooner than ``LEVEL_GAP_S`` after the last one to that number (``last_sent_t``, by
    (alert, number), this boot's monotonic time).
    """
    order = sorted((w for w in alerts if eligible(w)),
                   key=lambda w: (ESCALATING.index(w.severity), w.raised_seq))
    out: list[SendKey] = []
    for w in order:
        if not (w.alert_id in on_path or uplink_down or now_t >= w.due_t):
            continue
        for number in numbers:
            key = SendKey(w.alert_id, w.level, number)
            st = ledger.get(key)
            if st is None or (not st.final and now_t >= st.retry_t):
                last = (last_sent_t or {}).get((w.alert_id, number))
                if last is None or now_t - last >= LEVEL_GAP_S:
                    out.append(key)
    return out


def after_failure(attempts: int, now_t: float) -> tuple[Outcome, float]:
    """What follows the ``attempts``-th failed send of a key: tried again at the returned time, or given up."""
    if attempts >= MAX_ATTEMPTS:
        return Outcome.GAVE_UP, now_t
    return Outcome.FAILED, now_t + RETRY_S[min(max(attempts, 1), len(RETRY_S)) - 1]


def uplink_down(connected: bool, last_up_t: float, now_t: float) -> bool:
    """The uplink counts as down once it has not been connected for ``UPLINK_GRACE_S``."""
    return not connected and now_t - last_up_t >= UPLINK_GRACE_S


# --- path supervision -----------------------------------------------------------

REGISTERED = ("home", "roaming", "registered")


def unusable_reason(connected: bool, sim: str, registration: str) -> str | None:
    """Why the modem cannot send an SMS now (None: it can)."""
    if not connected:
        return "port"
    if sim.lower() != "ready":
        return f"sim:{sim.lower() or 'unknown'}"
    if registration.lower() not in REGISTERED:
        return f"registration:{registration.lower() or 'unknown'}"
    return None


class Change(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"


@dataclass
class Availability:
    """The technical alert ``second_path_unavailable``: raised after ``grace_s`` unusable, cleared when usable."""

    grace_s: float
    unusable_since_t: float | None = None
    raised: bool = False

    def step(self, reason: str | None, now_t: float) -> Change | None:
        if reason is None:
            self.unusable_since_t = None
            if self.raised:
                self.raised = False
                return Change.CLEAR
            return None
        if self.unusable_since_t is None:
            self.unusable_since_t = now_t
        if not self.raised and now_t - self.unusable_since_t >= self.grace_s:
            self.raised = True
            return Change.RAISE
        return None


def bars(csq: int | None) -> int | None:
    """Signal bars 0-5 from the modem's CSQ (0-31; 99 unknown), as phones draw them."""
    if csq is None or csq == 99 or csq < 0:
        return None
    for limit, n in ((2, 0), (5, 1), (10, 2), (15, 3), (20, 4)):
        if csq < limit:
            return n
    return 5


def path_test_due(last_started_wall: float | None, interval_days: float, now_wall: float) -> bool:
    """The periodic path test: never run yet, or the last one started ``interval_days`` ago (0: never).

    A wall clock that went back (no RTC) makes the last test look like the future: it is
    then due, since a month without evidence is worse than one test too many.
    """
    if interval_days <= 0:
        return False
    if last_started_wall is None:
        return True
    age = now_wall - last_started_wall
    return age < 0 or age >= interval_days * 86400
