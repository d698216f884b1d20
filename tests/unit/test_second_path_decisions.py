"""The second path's pure decisions (gateway/paths/decisions.py): what is due, retries, supervision."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.paths.decisions import (
    LEVEL_GAP_S,
    MAX_ATTEMPTS,
    Availability,
    Change,
    Outcome,
    SendKey,
    SendState,
    Watched,
    after_failure,
    bars,
    due_at,
    due_sends,
    path_test_due,
    unusable_reason,
    uplink_down,
)

NUMBERS = ["+8613800138000", "+8613900139000"]


def _w(alert_id="a", severity="emergency", state="open", level=0, test=False, seq=1, due_t=60.0):
    return Watched(alert_id, severity, state, level, test, seq, due_t)


def test_an_emergency_goes_by_sms_after_after_s_and_not_before():
    alerts = [_w(due_t=60.0)]
    assert due_sends(alerts, NUMBERS, {}, frozenset(), uplink_down=False, now_t=59.9) == []
    due = due_sends(alerts, NUMBERS, {}, frozenset(), uplink_down=False, now_t=60.0)
    assert due == [SendKey("a", 0, NUMBERS[0]), SendKey("a", 0, NUMBERS[1])]


def test_with_the_uplink_down_it_goes_at_once():
    assert len(due_sends([_w(due_t=60.0)], NUMBERS, {}, frozenset(), uplink_down=True, now_t=0.0)) == 2


def test_notices_technical_pending_and_test_alerts_never_go_by_sms():
    alerts = [_w("w", severity="wellbeing"), _w("t", severity="technical"), _w("p", state="pending"),
              _w("x", test=True), _w("c", state="cleared")]
    assert due_sends(alerts, NUMBERS, {}, frozenset(), uplink_down=True, now_t=1e6) == []


def test_emergencies_first_then_older_alerts():
    alerts = [_w("u", severity="urgent", seq=1), _w("e2", seq=3), _w("e1", seq=2)]
    due = due_sends(alerts, NUMBERS[:1], {}, frozenset(), uplink_down=True, now_t=0)
    assert [k.alert_id for k in due] == ["e1", "e2", "u"]


def test_a_new_level_of_an_alert_already_on_the_path_goes_at_once():
    sent = {SendKey("a", 0, n): SendState(1, Outcome.SENT) for n in NUMBERS}
    due = due_sends([_w(level=1, due_t=1e9)], NUMBERS, sent, frozenset({"a"}), uplink_down=False, now_t=0)
    assert due == [SendKey("a", 1, n) for n in NUMBERS]


def test_two_levels_reach_a_phone_at_least_the_gap_apart():
    sent = {SendKey("a", 0, n): SendState(1, Outcome.SENT) for n in NUMBERS}
    last = {("a", NUMBERS[0]): 100.0, ("a", NUMBERS[1]): 100.0 - LEVEL_GAP_S}
    due = due_sends([_w(level=1)], NUMBERS, sent, frozenset({"a"}), uplink_down=False, now_t=100.5,
                    last_sent_t=last)
    assert due == [SendKey("a", 1, NUMBERS[1])]
    due = due_sends([_w(level=1)], NUMBERS, sent, frozenset({"a"}), uplink_down=False, now_t=100.0 + LEVEL_GAP_S,
                    last_sent_t=last)
    assert due == [SendKey("a", 1, n) for n in NUMBERS]


def test_sent_or_interrupted_is_never_sent_again_failed_is_after_its_retry_time():
    ledger = {SendKey("a", 0, NUMBERS[0]): SendState(1, Outcome.SENT),
              SendKey("a", 0, NUMBERS[1]): SendState(1, Outcome.INTERRUPTED)}
    assert due_sends([_w()], NUMBERS, ledger, frozenset({"a"}), uplink_down=True, now_t=1e6) == []
    failed = {SendKey("a", 0, NUMBERS[0]): SendState(1, Outcome.FAILED, retry_t=10.0)}
    assert due_sends([_w()], NUMBERS[:1], failed, frozenset({"a"}), uplink_down=True, now_t=9.0) == []
    assert due_sends([_w()], NUMBERS[:1], failed, frozenset({"a"}), uplink_down=True, now_t=10.0) != []


def test_retries_back_off_and_end():
    assert after_failure(1, 100.0) == (Outcome.FAILED, 105.0)
    assert after_failure(2, 100.0) == (Outcome.FAILED, 115.0)
    assert after_failure(7, 100.0) == (Outcome.FAILED, 160.0)
    assert after_failure(MAX_ATTEMPTS, 100.0)[0] is Outcome.GAVE_UP


def test_due_time_counts_the_age_and_distrusts_a_clock_that_went_back():
    assert due_at(100.0, 0.0, 60.0) == 160.0
    assert due_at(100.0, 45.0, 60.0) == 115.0
    assert due_at(100.0, 600.0, 60.0) == 100.0
    assert due_at(100.0, -30.0, 60.0) == 100.0


def test_the_uplink_is_down_only_after_a_grace():
    assert not uplink_down(True, 0.0, 100.0)
    assert not uplink_down(False, 98.0, 100.0)
    assert uplink_down(False, 90.0, 100.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["tick", "escalate", "fail", "down", "up"]),
                          st.floats(0.1, 40.0)), max_size=60))
def test_no_alert_and_level_is_ever_sent_twice_to_one_number(steps):
    """Random histories of time, escalations, refused sends and uplink changes: each key is sent once at most."""
    level, t, down = 0, 0.0, False
    ledger: dict[SendKey, SendState] = {}
    sent: list[SendKey] = []
    fail_next = False
    for what, dt in steps:
        t += dt
        if what == "escalate":
            level = min(level + 1, 3)
        elif what == "fail":
            fail_next = True
        elif what in ("down", "up"):
            down = what == "down"
        on_path = frozenset(k.alert_id for k in ledger)
        for key in due_sends([_w(level=level, due_t=60.0)], NUMBERS, ledger, on_path, uplink_down=down, now_t=t):
            st_ = ledger.get(key, SendState())
            attempts = st_.attempts + 1
            if fail_next:
                fail_next = False
                outcome, retry = after_failure(attempts, t)
                ledger[key] = SendState(attempts, outcome, retry)
            else:
                ledger[key] = SendState(attempts, Outcome.SENT)
                sent.append(key)
    assert len(sent) == len(set(sent))
    # Once on the path, every level reached since is sent (unless it failed and waits for its retry).
    for key in sent:
        assert key.level <= level


def test_the_unavailable_alert_waits_for_its_grace_and_clears_when_usable():
    av = Availability(grace_s=30.0)
    assert av.step("sim:absent", 0.0) is None
    assert av.step("sim:absent", 29.0) is None
    assert av.step("registration:searching", 30.0) is Change.RAISE
    assert av.step("registration:searching", 31.0) is None
    assert av.step(None, 40.0) is Change.CLEAR
    assert av.step(None, 41.0) is None
    assert av.step("port", 50.0) is None  # a short blip starts the grace again


def test_why_a_modem_cannot_send():
    assert unusable_reason(False, "ready", "home") == "port"
    assert unusable_reason(True, "absent", "home") == "sim:absent"
    assert unusable_reason(True, "ready", "searching") == "registration:searching"
    assert unusable_reason(True, "ready", "roaming") is None


def test_signal_bars():
    assert [bars(c) for c in (None, 99, 0, 4, 9, 14, 19, 31)] == [None, None, 0, 1, 2, 3, 4, 5]


def test_the_path_test_is_due_monthly_and_at_first():
    day = 86400.0
    assert path_test_due(None, 30, 1000.0)
    assert not path_test_due(0.0, 30, 29 * day)
    assert path_test_due(0.0, 30, 30 * day)
    assert path_test_due(1000.0, 30, 10.0)  # the clock went back: test rather than go without evidence
    assert not path_test_due(None, 0, 1000.0)
