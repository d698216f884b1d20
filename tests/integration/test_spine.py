"""A help call from a (pseudo-terminal) RFLink gateway to the platform, through a real broker."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time

import pytest
import tomli_w

from simulators.broker import Mosquitto
from simulators.platform import PlatformEmulator
from simulators.rflink import RflinkEmulator
from tests.conftest import CODES, REPO, hub_config

pytestmark = pytest.mark.integration


def press(rflink: RflinkEmulator, device: str = "sos-bed", repeats: int = 3) -> None:
    rflink.frame(CODES[device], "ON", repeats=repeats)


def test_press_reaches_platform_and_is_closed_by_ack(tmp_path, mosquitto, rflink, platform, daemon_factory):
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link)).start()
    hub.wait_event("uplink.connected")
    assert platform.wait_for(lambda p: any(s.payload == b"online" for s in p.statuses))

    press(rflink)
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=5)
    alert = platform.alerts_of("help_call")[0]
    assert alert["severity"] == "emergency"
    assert alert["state"] == "open"
    assert alert["room"] == "bedroom"
    assert alert["device"] == "sos-bed"
    assert alert["historical"] is False
    assert alert["seq"] == 1
    assert alert["level"] == 0

    hub.wait_event("alert.acked", where=lambda e: e.get("id") == alert["id"])
    # The burst of identical frames is one press: only one alert.
    time.sleep(0.5)
    assert len({a["id"] for a in platform.alerts_of("help_call")}) == 1
    for name in ("alert.stored", "alert.published", "alert.acked"):
        assert hub.find(name), f"{name} is not logged"

    # Motion and doors are observations, not alerts.
    rflink.frame(CODES["pir-living"], "ON")
    rflink.frame(CODES["door-entrance"], "ON")
    time.sleep(0.5)
    assert len(platform.alerts) == 1

    # After the acknowledgement a new press (not part of the first burst) is a new alert.
    time.sleep(1.6)
    press(rflink)
    assert platform.wait_for(lambda p: len({a["id"] for a in p.alerts_of("help_call")}) == 2)
    assert platform.alerts_of("help_call")[-1]["seq"] == 2
    assert hub.stop() == 0
    # A clean stop says offline itself (the last will only fires on a lost connection).
    assert platform.wait_for(lambda p: p.statuses[-1].payload == b"offline")


def test_broker_down_during_press_alert_arrives_after_it_returns(tmp_path, rflink, daemon_factory):
    # The platform's session is kept by the broker across its restart, so the alert waits for
    # the platform whichever of the two reconnects first (else a race the hub cannot win).
    broker = Mosquitto(persistent=True).start()
    PlatformEmulator("127.0.0.1", broker.port, persistent=True).start().stop()
    hub = daemon_factory(hub_config(tmp_path, broker.port, rflink.link)).start()
    hub.wait_event("uplink.connected")
    hub.wait_event("rflink.opened")
    broker.stop()
    hub.wait_event("uplink.disconnected")

    press(rflink)
    stored = hub.wait_event("alert.stored")
    time.sleep(1.0)
    broker.start()  # same port
    with PlatformEmulator("127.0.0.1", broker.port, persistent=True) as platform:
        assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=15), hub.tail()
        alert = platform.alerts_of("help_call")[0]
        assert alert["id"] == stored["id"]
        hub.wait_event("alert.acked")
    broker.stop()


def test_sigkill_between_reading_and_publishing_delivers_exactly_once(tmp_path, rflink, daemon_factory):
    broker = Mosquitto().start()
    broker.stop()  # no broker: the press is read and stored, and cannot be published
    cfg = hub_config(tmp_path, broker.port, rflink.link)
    hub = daemon_factory(cfg).start()
    hub.wait_event("rflink.opened")
    press(rflink)
    stored = hub.wait_event("alert.stored")
    assert not hub.find("alert.published")
    hub.kill()

    broker.start()
    with PlatformEmulator("127.0.0.1", broker.port) as platform:
        hub2 = daemon_factory(cfg).start()
        assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=15), hub2.tail()
        hub2.wait_event("alert.acked", where=lambda e: e.get("id") == stored["id"])
        time.sleep(1.5)
        ids = [a["id"] for a in platform.alerts_of("help_call")]
        assert ids == [stored["id"]], "the platform must get the alert exactly once by id"
        # It was raised in the previous boot: the platform is told it is late.
        assert platform.alerts_of("help_call")[0]["historical"] is True
        hub2.stop()
    broker.stop()


def test_no_platform_ack_escalates_up_the_ladder(tmp_path, mosquitto, rflink, daemon_factory):
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link,
                     alerts={"ack_timeout_s": 1.0, "max_escalation_level": 2})
    with PlatformEmulator("127.0.0.1", mosquitto.port, mode="level", ack_level=2) as platform:
        hub = daemon_factory(cfg).start()
        hub.wait_event("uplink.connected")
        press(rflink)
        assert platform.wait_for(lambda p: any(a["level"] == 2 for a in p.alerts), timeout=10), hub.tail()
        levels = [a["level"] for a in platform.alerts_of("help_call")]
        assert levels[:3] == [0, 1, 2]
        assert len({a["id"] for a in platform.alerts}) == 1
        hub.wait_event("alert.acked")
        assert [e["escalation_level"] for e in hub.find("alert.escalated")][:2] == [1, 2]
        n = len(platform.alerts)
        time.sleep(2.5)
        assert len(platform.alerts) == n, "an acknowledged alert is not re-sent"


def test_serial_device_vanishes_and_returns(tmp_path, mosquitto, rflink, platform, daemon_factory):
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link)).start()
    hub.wait_event("rflink.opened")
    rflink.vanish()
    hub.wait_event("rflink.lost")
    time.sleep(1.0)  # several reopen attempts fail meanwhile
    rflink.reappear()
    hub.wait_event("rflink.opened", nth=2, timeout=10)
    assert hub.find("rflink.open_failed"), "the reopen attempts while unplugged are logged"
    press(rflink)
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) == 1, timeout=5), hub.tail()


def test_hostile_serial_input_is_counted_and_the_hub_keeps_working(
    tmp_path, mosquitto, rflink, platform, daemon_factory
):
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link)).start()
    hub.wait_event("rflink.opened")
    rng = random.Random(7)
    rflink.write_raw(bytes(rng.randrange(256) for _ in range(4000)) + b"\n")  # random bytes
    rflink.write_raw(b"20;01;EV1527;ID=" + b"A" * 5000 + b";\r\n")  # overlong
    rflink.write_raw(b"20;02;EV1527;ID=0a1b\r\n")  # truncated
    rflink.write_raw(b"20;03;NoSuchProto;ID=9999;SWITCH=01;CMD=ON;\r\n")  # unknown protocol/device
    rflink.write_raw(b"20;04;EV1527;ID=0a1b2c;SWITCH=01;CMD=\xff\xfe;\r\n")  # invalid UTF-8
    rflink.write_raw(b"\x00\x00\x00\r\n;;;;\r\n20;05;EV1527;ID=0a1b2c;SWITCH=01;CMD=WOBBLE;\r\n")
    press(rflink)
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) == 1, timeout=5), hub.tail()
    problems = {e["problem"] for e in hub.find("rflink.bad_line")}
    assert {"invalid_utf8", "malformed", "unknown_command"} <= problems
    assert hub.proc is not None and hub.proc.poll() is None
    assert hub.stop() == 0
    assert hub.find("hub.stopped")


def test_broken_config_exits_2_naming_key_value_and_allowed(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps({"platform": {"port": 70000}, "devices": [
        {"id": "x", "protocol": "EV1527", "address": "zz", "kind": "pir"}]}))
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert "platform.port = 70000" in proc.stderr
    assert "from 1 to 65535" in proc.stderr
    assert "devices[0].address = 'zz'" in proc.stderr

    path.write_text("this is [not toml")
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "valid TOML" in proc.stderr

    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "run", "--config", str(tmp_path / "none")],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_platform_commands_and_health(tmp_path, mosquitto, rflink, platform, daemon_factory):
    daemon_factory(hub_config(tmp_path, mosquitto.port, rflink.link, platform={"health_interval_s": 5.0})).start()
    assert platform.wait_for(lambda p: any(s.payload == b"online" and not s.retain for s in p.statuses), timeout=10)
    platform.request("test-site", "ping", {"request_id": "r1"})
    platform.request("test-site", "set_config", {"request_id": "r2", "changes": {"alerts": {"ack_timeout_s": -3}}})
    platform.request("test-site", "test_alarm", {"request_id": "r3"})
    assert platform.wait_for(lambda p: len([o for o in p.other if "/response/" in o.topic]) >= 3, timeout=10)
    responses = {o.json()["request_id"]: o.json() for o in platform.other if "/response/" in o.topic}
    assert responses["r1"]["pong"] is True
    assert responses["r2"]["applied"] is False
    assert responses["r2"]["errors"][0]["path"] == "alerts.ack_timeout_s"
    assert platform.wait_for(lambda p: len(p.alerts_of("test")) == 1)
    assert platform.alerts_of("test")[0]["test"] is True
    assert platform.wait_for(lambda p: len(p.health) >= 1, timeout=8)
    h = platform.health[0]
    assert {"uptime_s", "outbox_depth", "devices_seen"} <= set(h)
    avail = [o for o in platform.other if o.topic.endswith("/availability")]
    assert {o.topic.split("/")[-2] for o in avail} >= {"sos-bed", "pir-living"}


def test_state_file_survives_power_loss_semantics(tmp_path):
    """The store runs WAL + synchronous=FULL: committed means on disk."""
    from gateway.store import Store

    s = Store(tmp_path / "x.db")
    mode = s._db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = s._db.execute("PRAGMA synchronous").fetchone()[0]
    assert (mode, sync) == ("wal", 2)
    s.close()
    assert sqlite3.connect(tmp_path / "x.db").execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_daemon_starts_over_a_damaged_database(tmp_path, mosquitto, rflink, platform, daemon_factory):
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link)
    db = tmp_path / "state" / "carehub.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database, it is what a dying SD card left" * 200)
    hub = daemon_factory(cfg).start()
    ev = hub.wait_event("store.corrupt_replaced")
    assert ev["level"] == "critical" and ".corrupt-" in ev["kept_as"]
    press(rflink)
    assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) == 1, timeout=10), hub.tail()
