"""Alert policy rules, with a hand-driven clock and a real (temporary) SQLite store."""

from __future__ import annotations

import json

import pytest

from detection.events import Finding, FindingState, Severity, Stamp
from gateway.alerts import AlertPolicy
from gateway.alerts.payload import finalize
from gateway.config.schema import AlertConfig
from gateway.store import Store
from gateway.topics import Topics


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.boot_id = "boot-1"
        self.synced = True

    def now(self) -> Stamp:
        return Stamp(self.t, self.t)

    def utc_of(self, stamp: Stamp) -> float:
        return 1_700_000_000.0 + stamp.t


@pytest.fixture
def env(tmp_path):
    store = Store(tmp_path / "s.db")
    clock = FakeClock()
    wakes: list[int] = []
    policy = AlertPolicy(store, AlertConfig(ack_timeout_s=60, max_escalation_level=2, help_repeat_window_s=120),
                         "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                         wake_uplink=lambda: wakes.append(1))
    yield policy, store, clock
    store.close()


def messages(store: Store) -> list[dict]:
    return [json.loads(r.payload) for r in store.outbox()]


def help_press(clock: FakeClock, device: str = "sos") -> Finding:
    return Finding(type="help_call", severity=Severity.EMERGENCY, at=clock.now(), key=f"help:{device}",
                   device=device, room="bedroom")


def fall(clock: FakeClock, device: str = "pendant", state: FindingState = FindingState.RAISED,
         window: float = 30.0, reason: str = "recovery") -> Finding:
    return Finding(type="fall", severity=Severity.EMERGENCY, at=clock.now(), key=f"fall:{device}",
                   device=device, state=state, cancel_window_s=window if state is FindingState.RAISED else 0,
                   evidence={"score": 0.9} if state is FindingState.RAISED else {"reason": reason})


def test_help_call_is_stored_and_queued_at_once(env):
    policy, store, clock = env
    policy.on_finding(help_press(clock))
    (row,) = store.alerts()
    assert (row.state, row.seq, row.severity) == ("open", 1, "emergency")
    (msg,) = messages(store)
    assert msg["id"] == row.id and msg["state"] == "open" and msg["level"] == 0


def test_repeated_presses_fold_then_re_send_when_pressed_again_later(env):
    policy, store, clock = env
    policy.on_finding(help_press(clock))
    for _ in range(5):
        clock.t += 10
        policy.on_finding(help_press(clock))
    assert len(store.alerts()) == 1 and len(messages(store)) == 1
    assert store.alerts()[0].evidence["presses"] == 6
    clock.t += 200  # beyond the repeat window, still unacknowledged: the person is still calling
    policy.on_finding(help_press(clock))
    msgs = messages(store)
    assert len(msgs) == 2 and msgs[-1]["level"] == 1 and msgs[-1]["evidence"]["presses"] == 7


def test_escalation_ladder_is_bounded_and_stops_on_ack(env):
    policy, store, clock = env
    policy.on_finding(help_press(clock))
    levels = []
    for _ in range(5):
        clock.t += 61
        policy.tick()
        levels.append(messages(store)[-1]["level"])
    assert levels == [1, 2, 2, 2, 2]
    alert_id = store.alerts()[0].id
    assert policy.on_platform_ack(alert_id, "operator-7")
    n = len(messages(store))
    clock.t += 500
    policy.tick()
    assert len(messages(store)) == n
    assert store.get_alert(alert_id).state == "acked"
    assert policy.on_platform_ack(alert_id)  # twice is fine
    # After the ack a new press is a new alert with the next sequence number.
    policy.on_finding(help_press(clock))
    assert [a.seq for a in store.alerts()] == [2, 1]


def test_fall_waits_for_its_cancel_window_then_raises(env):
    policy, store, clock = env
    policy.on_finding(fall(clock))
    assert store.alerts()[0].state == "pending" and messages(store) == []
    clock.t += 29
    policy.tick()
    assert messages(store) == []
    clock.t += 1.5
    policy.tick()
    (msg,) = messages(store)
    assert msg["type"] == "fall" and msg["state"] == "open" and msg["severity"] == "emergency"


def test_fall_the_wearer_recovers_from_is_still_raised_as_urgent(env):
    policy, store, clock = env
    policy.on_finding(fall(clock))
    clock.t += 12
    policy.on_finding(fall(clock, state=FindingState.CANCELLED))  # the detector saw them get up
    assert messages(store) == [] and store.alerts()[0].state == "pending"
    clock.t += 19
    policy.tick()
    (msg,) = messages(store)
    assert (msg["type"], msg["state"], msg["severity"]) == ("fall", "open", "urgent")
    assert msg["evidence"]["recovered"] is True and msg["evidence"]["recovery"]["after_s"] == 12
    assert msg["evidence"]["score"] == 0.9, "the fall's own evidence is kept"
    clock.t += 61
    policy.tick()
    assert messages(store)[-1]["level"] == 1, "escalated like any urgent alert"


def test_only_the_wearers_button_cancels_a_recovered_fall(env):
    policy, store, clock = env
    policy.on_finding(fall(clock))
    clock.t += 5
    policy.on_finding(fall(clock, state=FindingState.CANCELLED))
    clock.t += 5
    policy.on_finding(help_press(clock, device="pendant"))
    (msg,) = messages(store)
    assert (msg["state"], msg["severity"]) == ("cancelled", "info")
    assert msg["evidence"]["cancel_reason"] == "button" and msg["evidence"]["recovered"] is True
    clock.t += 60
    policy.tick()
    assert len(messages(store)) == 1, "a cancelled fall is never raised"


def test_wearable_button_in_the_window_cancels_the_fall_not_a_help_call(env):
    policy, store, clock = env
    policy.on_finding(fall(clock, device="pendant"))
    clock.t += 5
    policy.on_finding(help_press(clock, device="pendant"))
    (msg,) = messages(store)
    assert msg["type"] == "fall" and msg["state"] == "cancelled" and msg["evidence"]["cancel_reason"] == "button"
    clock.t += 5  # pressed again after the window: now it is a call for help
    policy.on_finding(help_press(clock, device="pendant"))
    assert messages(store)[-1]["type"] == "help_call"


def test_pending_alert_found_at_start_is_raised_at_once(tmp_path):
    store = Store(tmp_path / "s.db")
    clock = FakeClock()
    p1 = AlertPolicy(store, AlertConfig(), "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                     wake_uplink=lambda: None)
    p1.on_finding(fall(clock))
    clock.boot_id = "boot-2"
    p2 = AlertPolicy(store, AlertConfig(), "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                     wake_uplink=lambda: None)
    p2.resume()
    (raw,) = store.outbox()
    msg = json.loads(finalize(raw.payload, boot_id="boot-2", historical_after_s=30))
    assert msg["state"] == "open" and msg["historical"] is True and "_boot" not in msg


def test_cleared_condition_closes_and_duplicates_are_dropped(env):
    policy, store, clock = env
    f = Finding(type="inactivity", severity=Severity.URGENT, at=clock.now(), key="inactivity", room="living")
    policy.on_finding(f)
    policy.on_finding(f)
    assert len(store.alerts()) == 1
    policy.on_finding(Finding(type="inactivity", severity=Severity.URGENT, at=clock.now(), key="inactivity",
                              state=FindingState.CLEARED))
    assert store.alerts()[0].state == "cleared"
    assert [m["state"] for m in messages(store)] == ["open", "cleared"]


def test_notices_do_not_wait_for_acks(env):
    policy, store, clock = env
    policy.on_finding(Finding(type="wellbeing", severity=Severity.WELLBEING, at=clock.now(), key="w:sleep"))
    assert store.alerts()[0].state == "closed"
    clock.t += 1000
    policy.tick()
    assert len(messages(store)) == 1


def test_test_alarm_waits_for_ack_without_escalating(env):
    policy, store, clock = env
    alert_id = policy.raise_test("tech")
    clock.t += 200
    policy.tick()
    assert len(messages(store)) == 1 and messages(store)[0]["test"] is True
    policy.on_platform_ack(alert_id)
    assert store.get_alert(alert_id).acked_wall is not None


def test_storage_failure_still_sends_the_help_call_from_memory(tmp_path):
    store = Store(tmp_path / "s.db")
    clock = FakeClock()
    sent: list[tuple[str, bytes]] = []
    policy = AlertPolicy(store, AlertConfig(), "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                         wake_uplink=lambda: None, fallback_publish=lambda t, p: sent.append((t, p)))
    policy.resume()
    policy.on_finding(help_press(clock))
    store._db.execute("PRAGMA query_only=ON")  # the disk now refuses writes
    clock.t += 200
    policy.on_finding(help_press(clock, device="sos2"))
    assert policy.storage_failures == 1
    ((topic, payload),) = sent
    msg = json.loads(payload)
    assert topic == "carehub/v1/site/alert" and msg["type"] == "help_call" and msg["device"] == "sos2"
    assert msg["seq"] == 2
    clock.t += 61
    policy.tick()  # escalation goes on from memory too
    assert len(sent) >= 2 and json.loads(sent[-1][1])["level"] >= 1


def test_cancel_action_on_a_wearable_cancels_its_pending_fall(env):
    from detection.events import ButtonAction, ButtonPress
    from detection.help_call import HelpCallDetector

    policy, store, clock = env
    policy.on_finding(fall(clock, device="pendant"))
    for f in HelpCallDetector().observe(ButtonPress(device="pendant", at=clock.now(), action=ButtonAction.CANCEL)):
        policy.on_finding(f)
    (msg,) = messages(store)
    assert msg["state"] == "cancelled" and msg["evidence"]["cancel_reason"] == "button"


def test_sequence_numbers_strictly_increase_across_a_storage_failure_and_recovery(tmp_path):
    """The review saw seq 1, 2, 2: the number sent from memory was handed out again once the disk was back."""
    store = Store(tmp_path / "s.db")
    clock = FakeClock()
    sent: list[bytes] = []
    policy = AlertPolicy(store, AlertConfig(), "site", Topics.for_site("carehub/v1", "site"), clock,  # type: ignore[arg-type]
                         wake_uplink=lambda: None, fallback_publish=lambda t, p: sent.append(p))
    policy.resume()
    policy.on_finding(help_press(clock, "a"))
    store._db.execute("PRAGMA query_only=ON")
    policy.on_finding(help_press(clock, "b"))
    store._db.execute("PRAGMA query_only=OFF")
    policy.on_finding(help_press(clock, "c"))
    seqs = [m["seq"] for m in messages(store)] + [json.loads(p)["seq"] for p in sent]
    assert sorted(seqs) == [1, 2, 3] and len(set(seqs)) == 3, seqs
    store.close()
    # ...and across a restart, and a damaged database set aside: never a number again.
    again = Store(tmp_path / "s.db")
    assert again.next_seq() == 4
    again.close()
    (tmp_path / "s.db").write_bytes(b"garbage" * 1000)
    (tmp_path / "s.db-wal").unlink(missing_ok=True)
    from gateway.store import open_store

    fresh, damaged = open_store(tmp_path / "s.db")
    assert damaged is not None
    assert fresh.next_seq() > 4


def test_a_restart_keeps_the_escalation_countdown(tmp_path):
    store = Store(tmp_path / "s.db")
    clock = FakeClock()
    cfg = AlertConfig(ack_timeout_s=60)
    topics = Topics.for_site("carehub/v1", "site")
    policy = AlertPolicy(store, cfg, "site", topics, clock, wake_uplink=lambda: None)  # type: ignore[arg-type]
    policy.resume()
    policy.on_finding(help_press(clock))
    (row,) = store.alerts(["open"])
    # 50 s later (by the wall clock) the hub restarts; its monotonic clock starts again.
    store.update_alert(row.id, last_sent_wall=row.last_sent_wall - 50)
    clock2 = FakeClock()
    clock2.t = 5.0
    again = AlertPolicy(store, cfg, "site", topics, clock2, wake_uplink=lambda: None)  # type: ignore[arg-type]
    again.resume()
    clock2.t += 11  # 61 s since the last send: escalates now, not 60 s after the restart
    again.tick()
    assert store.get_alert(row.id).level == 1  # type: ignore[union-attr]


def test_open_alerts_are_re_sent_on_connect_unless_one_is_still_waiting(env):
    policy, store, clock = env
    policy.on_finding(help_press(clock))
    assert policy.resend_open() == 0  # its first message has not left yet
    for r in store.outbox():
        store.outbox_done(r.msg_id)
    assert policy.resend_open() == 1
    (msg,) = messages(store)
    assert msg["state"] == "open" and msg["level"] == 0 and msg["note"] == "re-sent on connect"
