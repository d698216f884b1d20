"""What the platform may change over MQTT, decided without a hub (gateway.platform_changes)."""

from __future__ import annotations

import pytest

from gateway import platform_changes
from gateway.config import merge, validate
from gateway.config.schema import TLS_PORT

BASE = validate({"devices": [{"id": "sos", "protocol": "EV1527", "address": "A1", "kind": "sos"}]})
MAINT = platform_changes.Maintenance("sensor replaced", "ops")


def check(changes, maintenance=None):  # type: ignore[no-untyped-def]
    return platform_changes.check(BASE, merge(BASE, changes), maintenance)


@pytest.mark.parametrize("changes", [
    {"platform": {"host": "10.1.2.3"}}, {"site": {"id": "other"}}, {"storage": {"journal_days": 2}},
    {"web": {"port": 9000}}, {"logging": {"level": "debug"}},
])
def test_never_settable_even_in_maintenance(changes):
    errors, _ = check(changes, MAINT)
    assert errors and "not settable by the platform" in errors[0].allowed


@pytest.mark.parametrize("changes", [
    {"detection": {"fall": {"enabled": False}}}, {"detection": {"home": {"enabled": False}}}, {"devices": []},
    {"devices": [{"id": "sos", "protocol": "EV1527", "address": "B2", "kind": "sos"}]},
    {"alerts": {"max_escalation_level": 0}}, {"alerts": {"ack_timeout_s": 3600}},
    {"detection": {"home": {"quiet_hours": "8-20"}}}, {"detection": {"home": {"inactivity_ceiling_min": 1440}}},
    {"rflink": {"enabled": True}},
])
def test_switching_off_and_removing_need_maintenance(changes):
    errors, _ = check(changes)
    assert errors and "maintenance" in errors[0].allowed
    errors, needed = check(changes, MAINT)
    assert not errors and needed


@pytest.mark.parametrize("changes", [
    {"alerts": {"ack_timeout_s": 90, "max_escalation_level": 4}}, {"detection": {"fall": {"cancel_window_s": 20}}},
    {"detection": {"home": {"inactivity_floor_min": 60, "wellbeing_notices": False, "quiet_hours": "13-15"}}},
    {"devices": [{"id": "sos", "protocol": "EV1527", "address": "A1", "kind": "sos"},
                 {"id": "pir", "protocol": "EV1527", "address": "C3", "kind": "pir"}]},
])
def test_everyday_tuning_and_new_devices_are_allowed(changes):
    assert check(changes) == ([], [])


def test_maintenance_needs_a_reason():
    with pytest.raises(ValueError):
        platform_changes.parse_maintenance({"maintenance": {"reason": "  "}})
    assert platform_changes.parse_maintenance({}) is None
    assert platform_changes.parse_maintenance({"maintenance": {"reason": "x", "by": "ops"}}) == \
        platform_changes.Maintenance("x", "ops")


def test_tls_is_the_default_for_a_broker_on_another_machine():
    remote = validate({"platform": {"host": "mqtt.example.org"}}).platform
    assert remote.tls and remote.port == TLS_PORT
    assert validate({"platform": {"host": "mqtt.example.org", "tls": False}}).platform.port == 1883
    local = validate({"platform": {"host": "127.0.0.1"}}).platform
    assert not local.tls and local.port == 1883


@pytest.mark.parametrize("platform", [
    {"base_topic": "carehub/#"}, {"base_topic": "carehub/+/x"}, {"base_topic": ""}, {"base_topic": "a//b"},
    {"client_id": "hub+1"}, {"client_id": "#"}, {"host": "mqtt://x"}, {"host": "a b"}, {"host": ""},
])
def test_topics_client_ids_and_hosts_that_would_strand_the_hub_are_refused(platform):
    with pytest.raises(ValueError):
        validate({"platform": platform})
