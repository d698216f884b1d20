"""The platform channel as a trust boundary, and alerts that survive the hub's absence (issue 11).

Real parts: the daemon as its own process, mosquitto on a free loopback port, a pty
RFLink gateway and the platform emulator.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Mosquitto
from simulators.platform import PlatformEmulator
from tests.conftest import CODES, hub_config

pytestmark = pytest.mark.integration

SITE = "test-site"


def _responses(platform: PlatformEmulator, request_id: str) -> list[dict[str, Any]]:
    return [o.json() for o in platform.other if "/response/" in o.topic and o.json().get("request_id") == request_id]


def _ask(platform: PlatformEmulator, command: str, body: dict[str, Any], request_id: str) -> dict[str, Any]:
    platform.request(SITE, command, {"request_id": request_id, **body})
    assert platform.wait_for(lambda p: bool(_responses(p, request_id)), timeout=10), f"no answer to {request_id}"
    return _responses(platform, request_id)[0]


def _online(platform: PlatformEmulator) -> None:
    assert platform.wait_for(lambda p: any(s.payload == b"online" and not s.retain for s in p.statuses), timeout=10)


def _audit(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "state" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_platform_may_tune_the_hub_but_not_switch_it_off_or_redirect_it(tmp_path, mosquitto, rflink, platform,
                                                                       daemon_factory):
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link)).start()
    _online(platform)
    before = (tmp_path / "carehub.toml").read_text()

    # The attack from the review: credentials to another listener in the clear, detectors off, no devices.
    r = _ask(platform, "set_config", {"changes": {"platform": {"host": "127.0.0.2", "tls": False}}}, "r1")
    assert r["ok"] and r["applied"] is False
    assert {e["path"] for e in r["errors"]} == {"platform.host"}
    assert "not settable by the platform" in r["errors"][0]["allowed"]
    for n, changes in enumerate([{"detection": {"fall": {"enabled": False}}}, {"devices": []},
                                 {"alerts": {"max_escalation_level": 0}}, {"storage": {"journal_days": 1}},
                                 {"detection": {"home": {"quiet_hours": "0-24"}}}, {"rflink": {"enabled": False}}]):
        r = _ask(platform, "set_config", {"changes": changes}, f"bad{n}")
        assert r["applied"] is False, changes
    assert (tmp_path / "carehub.toml").read_text() == before, "a refused change must not touch the file"
    assert hub.find("platform.set_config_refused")

    # Tuning within everyday bounds is applied and audited with the platform as the actor.
    r = _ask(platform, "set_config", {"changes": {"alerts": {"ack_timeout_s": 90}}}, "ok1")
    assert r["applied"] is True and r["maintenance"] == []
    assert "ack_timeout_s = 90" in (tmp_path / "carehub.toml").read_text()
    entry = _audit(tmp_path)[-1]
    assert entry["who"] == "platform" and entry["changes"] == [{"path": "alerts.ack_timeout_s", "old": 60.0,
                                                                "new": 90}]

    # Switching a detector off needs maintenance with a reason; it is audited and shown in status.
    body = {"changes": {"detection": {"home": {"enabled": False}}},
            "maintenance": {"reason": "bed sensor replaced", "by": "ops-7"}}
    r = _ask(platform, "set_config", body, "m1")
    assert r["applied"] is True and r["maintenance"] == ["detection.home.enabled"]
    entry = _audit(tmp_path)[-1]
    assert entry["who"] == "platform (ops-7)" and "maintenance: bed sensor replaced" in entry["action"]
    status = _ask(platform, "status", {}, "s1")
    assert status["maintenance"]["reason"] == "bed sensor replaced"
    assert status["maintenance"]["paths"] == ["detection.home.enabled"]
    assert _ask(platform, "end_maintenance", {}, "e1")["maintenance"] is None
    assert _ask(platform, "status", {}, "s2")["maintenance"] is None
    # And a help call still goes through all of this.
    rflink.frame(CODES["sos-bed"], "ON")
    assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10), hub.tail()


def test_a_retained_request_is_never_executed(tmp_path, mosquitto, rflink, platform, daemon_factory):
    """A retained test_alarm ran on every connect; retained requests are ignored and counted."""
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="retainer")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    pub.publish(f"carehub/v1/{SITE}/request/test_alarm", json.dumps({"request_id": "ret"}), qos=1,
                retain=True).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()
    for protocol in ("5", "3.1.1"):
        hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link,
                                        platform={"protocol": protocol})).start()
        hub.wait_event("uplink.connected")
        _online(platform)
        if protocol == "3.1.1":  # MQTT 5 asks the broker not to send retained messages at all
            hub.wait_event("uplink.message_refused", where=lambda e: e["reason"] == "retained_requests_ignored")
        assert _ask(platform, "ping", {}, f"p{protocol}")["pong"] is True
        assert hub.stop() == 0
        platform.statuses.clear()
    assert not platform.alerts_of("test"), "a retained request was executed"


def test_an_oversized_request_never_reaches_the_hub(tmp_path, mosquitto, rflink, platform, daemon_factory):
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link,
                                    platform={"protocol": "3.1.1"})).start()
    _online(platform)
    platform.request(SITE, "test_alarm", {"request_id": "big", "pad": "x" * (1 << 20)})
    hub.wait_event("uplink.message_refused", where=lambda e: e["reason"] == "oversized_messages")
    assert _ask(platform, "ping", {}, "after")["pong"] is True
    assert not _responses(platform, "big") and not platform.alerts_of("test")


def test_an_acknowledgement_sent_while_the_hub_is_down_is_not_lost(tmp_path, mosquitto, rflink, daemon_factory):
    """The broker keeps the hub's session: the ack reaches the restarted hub, which never escalates."""
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link, alerts={"ack_timeout_s": 4.0})
    with PlatformEmulator("127.0.0.1", mosquitto.port, mode="ignore") as platform:
        hub = daemon_factory(cfg).start()
        _online(platform)
        rflink.frame(CODES["sos-bed"], "ON")
        assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10)
        alert = platform.alerts_of("help_call")[0]
        hub.wait_event("alert.published")
        hub.kill()
        platform.ack(alert["_topic"], alert["id"])  # while the hub is away
        time.sleep(0.5)
        hub.start()
        hub.wait_event("alert.acked", where=lambda e: e.get("id") == alert["id"], timeout=10)
        time.sleep(5)  # past ack_timeout_s
        assert max(a["level"] for a in platform.alerts_of("help_call")) == 0, "escalated after it was acknowledged"


def test_an_alert_the_broker_lost_is_sent_again_on_reconnect(tmp_path, rflink, daemon_factory):
    """The broker accepted it (PUBACK) and then crashed before anyone had it: re-sent on connect."""
    broker = Mosquitto().start()
    try:
        hub = daemon_factory(hub_config(tmp_path, broker.port, rflink.link)).start()
        hub.wait_event("uplink.connected")
        rflink.frame(CODES["sos-bed"], "ON")  # nobody subscribed yet: accepted and dropped
        alert_id = hub.wait_event("alert.published")["id"]
        broker.kill()
        broker.start()
        with PlatformEmulator("127.0.0.1", broker.port) as platform:
            hub.wait_event("alert.resent_on_connect", timeout=15)
            assert platform.wait_for(lambda p: any(a["id"] == alert_id for a in p.alerts), timeout=10), hub.tail()
            got = next(a for a in platform.alerts if a["id"] == alert_id)
            assert got["level"] == 0 and got["note"] == "re-sent on connect"
            hub.wait_event("alert.acked", where=lambda e: e.get("id") == alert_id)
    finally:
        broker.stop()


def test_escalation_deadlines_survive_a_crash_loop(tmp_path, mosquitto, rflink, daemon_factory):
    """A hub killed every 2 s still escalates an unacknowledged alert after ack_timeout_s."""
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link, alerts={"ack_timeout_s": 5.0})
    with PlatformEmulator("127.0.0.1", mosquitto.port, mode="ignore") as platform:
        hub = daemon_factory(cfg).start()
        _online(platform)
        rflink.frame(CODES["sos-bed"], "ON")
        assert platform.wait_for(lambda p: bool(p.alerts_of("help_call")), timeout=10)
        started = time.monotonic()
        while time.monotonic() - started < 6:
            time.sleep(1.5)
            hub.kill()
            hub.start()
        assert platform.wait_for(lambda p: any(a["level"] >= 1 for a in p.alerts_of("help_call")), timeout=8), \
            hub.tail()


def test_sequence_numbers_never_repeat_across_a_replaced_database(tmp_path, mosquitto, rflink, platform,
                                                                  daemon_factory):
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link)
    hub = daemon_factory(cfg).start()
    _online(platform)
    rflink.frame(CODES["sos-bed"], "ON")
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) == 1, timeout=10)
    hub.wait_event("alert.acked")
    assert hub.stop() == 0
    (tmp_path / "state" / "carehub.db").write_bytes(b"this is not a database" * 100)
    for side in ("-wal", "-shm"):
        (tmp_path / "state" / f"carehub.db{side}").unlink(missing_ok=True)
    hub = daemon_factory(cfg).start()
    hub.wait_event("store.corrupt_replaced")
    _online(platform)
    rflink.frame(CODES["sos-bed"], "ON")
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) == 2, timeout=10), hub.tail()
    seqs = [a["seq"] for a in platform.alerts_of("help_call")]
    assert seqs[1] > seqs[0], seqs


def test_a_missing_ca_file_does_not_stop_the_hub_or_blame_storage(tmp_path, mosquitto, rflink, daemon_factory):
    """tls = true with a CA file that is gone: the hub runs, says what is wrong, keeps every alert."""
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link,
                     platform={"tls": True, "ca_file": str(tmp_path / "gone-ca.pem")})
    hub = daemon_factory(cfg).start()
    ev = hub.wait_event("uplink.settings_unusable")
    assert "platform.ca_file" in ev["error"] and ev["level"] == "critical"
    rflink.frame(CODES["sos-bed"], "ON")
    hub.wait_event("alert.stored")
    assert hub.stop() == 0, hub.tail()
    assert hub.find("hub.stopped"), "the journal and baselines were not saved on the way down"
