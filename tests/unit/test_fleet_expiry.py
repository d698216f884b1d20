"""Message expiry on telemetry and never on alerts; what makes a hub skip its boot spread."""

from __future__ import annotations

import json
from dataclasses import replace

from detection.events import Finding, Severity, Stamp
from gateway.alerts.policy import AlertPolicy
from gateway.clock import HubClock
from gateway.config.schema import AlertConfig, PlatformConfig
from gateway.first_connect import urgent_waiting
from gateway.message_expiry import RetainedRefresh, expiry_s
from gateway.store import Store
from gateway.topics import Topics

T = Topics.for_site("carehub/v1", "flat-3b")
CFG = PlatformConfig()


def alert(**fields: object) -> bytes:
    msg = {"id": "a1", "type": "help_call", "severity": "emergency", "state": "open", "level": 0, "test": False}
    msg.update(fields)
    return json.dumps(msg).encode()


def test_telemetry_expires_with_its_configured_interval():
    assert expiry_s(CFG, T, T.health, b"{}") == 180
    assert expiry_s(CFG, T, T.availability("pir-1"), b"online") == 86400
    notice = alert(type="wellbeing", severity="wellbeing", state="open")  # as the rules send it
    assert expiry_s(CFG, T, T.alert, notice) == 7 * 86400
    cancelled_fall = alert(type="fall", severity="info", state="cancelled")
    assert expiry_s(CFG, T, T.alert, cancelled_fall) == 7 * 86400


def test_nothing_that_waits_for_an_acknowledgement_or_says_the_hub_is_gone_ever_expires():
    for severity in ("emergency", "urgent", "technical"):
        for state in ("open", "cleared", "cancelled", "acked"):
            assert expiry_s(CFG, T, T.alert, alert(severity=severity, state=state)) == 0, (severity, state)
    assert expiry_s(CFG, T, T.alert, alert(type="test", severity="info", test=True)) == 0, "a test alarm"
    assert expiry_s(CFG, T, T.alert, alert(type="call_request", severity="info")) == 0
    assert expiry_s(CFG, T, T.alert, alert(severity="wellbeing", test=None)) == 0, "not plainly a notice"
    assert expiry_s(CFG, T, T.alert, b"not json") == 0, "unreadable: treated as an alert"
    for topic in (T.status, T.response("status"), T.vitals_summary, f"{T.root}/power"):
        assert expiry_s(CFG, T, topic, b"{}") == 0, topic
    other_site = Topics.for_site("carehub/v1", "flat-3c")
    assert expiry_s(CFG, T, other_site.availability("pir-1"), b"online") == 0


def test_mqtt_3_has_no_expiry_and_zero_switches_each_kind_off():
    assert expiry_s(replace(CFG, protocol="3.1.1"), T, T.health, b"{}") == 0
    off = replace(CFG, health_expiry_s=0.0, availability_expiry_s=0.0, notice_expiry_s=0.0)
    assert expiry_s(off, T, T.health, b"{}") == 0
    assert expiry_s(off, T, T.availability("pir-1"), b"online") == 0
    assert expiry_s(off, T, T.alert, alert(severity="wellbeing")) == 0


def test_retained_state_with_an_expiry_is_refreshed_at_half_of_it():
    r = RetainedRefresh()
    r.sent("a/availability", b"online", 100, now=0.0)
    r.sent("b/availability", b"offline", 0, now=0.0)  # no expiry: never needs a refresh
    assert r.due(49.0) == [] and r.next_due_in(10.0, default=3600.0) == 40.0
    assert r.due(50.0) == [("a/availability", b"online")]
    r.sent("a/availability", b"offline", 100, now=50.0)
    assert r.due(60.0) == [] and r.due(100.0) == [("a/availability", b"offline")]
    assert RetainedRefresh().next_due_in(0.0, default=3600.0) == 3600.0


def policy(store: Store) -> AlertPolicy:
    return AlertPolicy(store, AlertConfig(), "flat-3b", T, HubClock(lambda: True), wake_uplink=lambda: None)


def finding(kind: str, severity: Severity, key: str) -> Finding:
    return Finding(type=kind, severity=severity, at=Stamp(0.0, 0.0, True), key=key)


def test_an_urgent_alert_in_the_outbox_or_unacknowledged_ends_the_wait_and_a_technical_one_does_not(tmp_path):
    store = Store(tmp_path / "s.db")
    p = policy(store)
    assert urgent_waiting(store, sent_from_memory=False) is None
    p.on_finding(finding("device_offline", Severity.TECHNICAL, "offline:pir-1"))
    assert store.outbox_depth() == 1 and urgent_waiting(store, sent_from_memory=False) is None
    assert urgent_waiting(store, sent_from_memory=True) == "sent_from_memory"
    p.on_finding(finding("help_call", Severity.EMERGENCY, "help:sos-1"))
    assert urgent_waiting(store, sent_from_memory=False) == "alert_waiting"
    for row in store.outbox():
        store.outbox_done(row.msg_id)  # delivered, not yet acknowledged by the platform
    assert urgent_waiting(store, sent_from_memory=False) == "alert_unacknowledged"
    help_id = next(a.id for a in store.alerts() if a.type == "help_call")
    p.on_platform_ack(help_id, "operator")
    assert urgent_waiting(store, sent_from_memory=False) is None


def test_a_store_that_cannot_be_read_does_not_hold_a_help_call_back(tmp_path):
    store = Store(tmp_path / "s.db")
    store.close()
    assert urgent_waiting(store, sent_from_memory=False) == "store_unreadable"
