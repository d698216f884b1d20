"""The alert state machine: the table, its illegal steps, the pure rules and the one-transaction writes."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from detection.events import Finding, Severity, Stamp
from gateway.alerts.apply import EffectApplier
from gateway.alerts.effects import Enqueue, FindingReceived, Notify, Now, StoreAlert, Tick, WakeUplink
from gateway.alerts.rules import AlertRules
from gateway.alerts.states import ACTIVE, FINAL, TRANSITIONS, AlertEvent, AlertState, IllegalTransition, next_state
from gateway.config.schema import AlertConfig
from gateway.store import Store
from gateway.topics import Topics

ALL_PAIRS = list(itertools.product(AlertState, AlertEvent))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=[f"{s.value}-{e.value}" for s, e in ILLEGAL])
def test_every_illegal_step_raises_a_typed_error_naming_the_legal_ones(state: AlertState, event: AlertEvent) -> None:
    with pytest.raises(IllegalTransition) as err:
        next_state(state, event, "a-1")
    assert (err.value.state, err.value.event, err.value.alert_id) == (state, event, "a-1")
    legal = [e.value for (s, e) in TRANSITIONS if s is state]
    assert all(name in str(err.value) for name in legal) and "a-1" in str(err.value)


@pytest.mark.parametrize(("pair", "target"), list(TRANSITIONS.items()),
                         ids=[f"{s.value}-{e.value}" for s, e in TRANSITIONS])
def test_every_legal_step_leads_where_the_table_says(pair: tuple[AlertState, AlertEvent],
                                                     target: AlertState) -> None:
    state, event = pair
    assert next_state(state, event) is target
    assert next_state(state.value, event) is target, "a state read back from the store is a plain string"


def test_the_table_is_closed_final_states_never_reopen_and_nothing_returns_to_new() -> None:
    assert len(ILLEGAL) + len(TRANSITIONS) == len(ALL_PAIRS)
    assert FINAL == {AlertState.ACKED, AlertState.CANCELLED, AlertState.CLEARED, AlertState.CLOSED}
    for (state, event), target in TRANSITIONS.items():
        assert target is not AlertState.NEW
        if state in FINAL:
            assert (event, target) == (AlertEvent.ACKNOWLEDGED, state), "a final alert only records an ack"
    # Every state but NEW can be reached, and every active state can end.
    assert {t for t in TRANSITIONS.values()} == set(AlertState) - {AlertState.NEW}
    for state in ACTIVE:
        assert any(TRANSITIONS[(state, e)] in FINAL for e in AlertEvent if (state, e) in TRANSITIONS)


def test_a_state_the_table_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError):
        next_state("reopened", AlertEvent.ACKNOWLEDGED)


def test_the_rules_decide_without_a_store_or_a_clock() -> None:
    ids = iter(["a-1", "a-2"])
    rules = AlertRules(AlertConfig(ack_timeout_s=60, max_escalation_level=2), new_id=lambda: next(ids))
    now = Now(t=10.0, wall=1_700_000_010.0, boot_id="b", synced=True)
    press = Finding(type="help_call", severity=Severity.EMERGENCY, at=Stamp(10.0, 10.0), key="help:sos",
                    device="sos")
    effects = rules.decide(FindingReceived(press, 1_700_000_010.0, now))
    kinds = [type(e) for e in effects]
    assert kinds == [StoreAlert, Enqueue, WakeUplink, Notify]
    stored = effects[0]
    assert isinstance(stored, StoreAlert) and stored.row.id == "a-1" and stored.row.state == "open"
    # 61 s later, no acknowledgement: one escalation, decided from memory alone.
    later = Now(t=71.0, wall=1_700_000_071.0, boot_id="b", synced=True)
    sent = [e for e in rules.decide(Tick(later)) if isinstance(e, Enqueue)]
    assert [(e.row.id, e.level) for e in sent] == [("a-1", 1)]
    assert rules.decide(Tick(later)) == [], "the countdown restarted with the send"


def test_an_alert_and_its_message_are_one_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    sent: list[bytes] = []
    applier = EffectApplier(store, "site", Topics.for_site("carehub/v1", "site"), lambda: None,
                            fallback_publish=lambda _t, p: sent.append(p))
    rules = AlertRules(AlertConfig())
    now = Now(t=1.0, wall=1_700_000_001.0, boot_id="b", synced=True)
    press = Finding(type="help_call", severity=Severity.EMERGENCY, at=Stamp(1.0, 1.0), key="help:sos",
                    device="sos")
    effects = rules.decide(FindingReceived(press, now.wall, now))
    # The outbox refuses the message after the alert row was written: neither may stay.
    store._db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'card full'); END")
    numbered = applier.apply(effects)
    assert store.alerts() == [] and store.outbox() == []
    assert applier.storage_failures == 1 and len(sent) == 1, "sent from memory instead"
    store._db.execute("DROP TRIGGER refuse")
    assert store.next_seq() > numbered[effects[0].row.id], "the number sent from memory is never reused"  # type: ignore[union-attr]
    store.close()


def test_a_puback_drops_the_message_and_records_the_first_publication_in_one_commit(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    policy_topics = Topics.for_site("carehub/v1", "site")
    applier = EffectApplier(store, "site", policy_topics, lambda: None)
    rules = AlertRules(AlertConfig())
    now = Now(t=1.0, wall=1_700_000_001.0, boot_id="b", synced=True)
    press = Finding(type="help_call", severity=Severity.EMERGENCY, at=Stamp(1.0, 1.0), key="help:sos",
                    device="sos")
    applier.apply(rules.decide(FindingReceived(press, now.wall, now)))
    (first,) = store.outbox()
    alert_id = first.alert_id
    assert alert_id is not None
    store.enqueue(policy_topics.alert, b"{}", alert_id=alert_id)  # a second message for the same alert
    assert store.outbox_published(first.msg_id, 1_700_000_002.0) == alert_id
    assert store.get_alert(alert_id).first_published_wall == 1_700_000_002.0  # type: ignore[union-attr]
    (second,) = store.outbox()
    assert store.outbox_published(second.msg_id, 1_700_000_099.0) == alert_id
    assert store.get_alert(alert_id).first_published_wall == 1_700_000_002.0, "the first one counts"  # type: ignore[union-attr]
    assert store.outbox_published(second.msg_id, 1_700_000_100.0) is None, "a PUBACK twice changes nothing"
    other = store.enqueue("carehub/v1/site/status", b"{}")
    assert store.outbox_published(other, 1_700_000_101.0) is None and store.outbox() == []
    # Refused by the card: neither half happens, and the message stays to be sent again.
    again = store.enqueue(policy_topics.alert, b"{}", alert_id=alert_id)
    store._db.execute("UPDATE alerts SET first_published_wall=NULL")
    store._db.execute("CREATE TRIGGER refuse BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'card full'); END")
    with pytest.raises(sqlite3.Error):
        store.outbox_published(again, 1_700_000_102.0)
    store._db.execute("DROP TRIGGER refuse")
    assert [r.msg_id for r in store.outbox()] == [again]
    assert store.get_alert(alert_id).first_published_wall is None  # type: ignore[union-attr]
    store.close()


def test_a_number_sent_from_memory_is_not_used_again_after_a_restart(tmp_path: Path) -> None:
    """Found by the history test: claimed in memory, then a restart before any stored alert."""
    store = Store(tmp_path / "s.db")
    assert store.next_seq() == 1
    store._db.execute("PRAGMA query_only=ON")  # the card refuses the database, not the small file
    assert store.claim_seq() == 2
    store.note_claimed()  # what the policy does once the message is handed over
    store.close()
    again = Store(tmp_path / "s.db")
    assert again.next_seq() == 3
    again.close()
    (tmp_path / "s.db.seq").write_text("100\n")  # a file written before claims were noted
    assert Store(tmp_path / "s.db").next_seq() == 4


def test_a_puback_on_a_card_that_refuses_writes_is_one_line_not_a_crash(tmp_path, capsys):
    """The broker has the message; the row stays for the next connect, and the log says it once."""
    import asyncio

    from gateway.config.schema import PlatformConfig
    from gateway.store import Store
    from gateway.topics import Topics
    from gateway.uplink import Uplink

    store = Store(tmp_path / "s.db")
    msg_id = store.enqueue("t/alert", b"{}", alert_id=None)
    up = Uplink(PlatformConfig(), Topics.for_site("carehub/v1", "s"), store, client_id="t",
                finalize=lambda p: p, on_ack=lambda a, b: None)
    store._db.execute("PRAGMA query_only=ON")

    async def main() -> None:
        for mid in (1, 2, 3):
            up._in_flight[mid] = msg_id
            up._puback(mid)

    asyncio.run(main())
    assert up.counters["outbox_update_failed"] == 3
    assert capsys.readouterr().out.count("uplink.outbox_update_failed") == 1
    store._db.execute("PRAGMA query_only=OFF")
    assert store.outbox_depth() == 1, "kept for the next connect"
