"""The second path through the whole hub: the daemon as a process, mosquitto, the modem emulator on a pty.

Broker down: a help call reaches the modem as SMS, in Chinese intact; a reply 收到 <id>
acknowledges it (audited, no escalation after it); a restart sends nothing twice; when the
broker is back the platform hears the SMS history. A refused send is retried and sent once,
and a hung modem never keeps other alerts from the platform.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from simulators.broker import Mosquitto
from simulators.modem import ModemEmulator
from simulators.platform import PlatformEmulator
from tests.conftest import CODES, hub_config

pytestmark = pytest.mark.integration

FAMILY = "+8613800138000"
GATEWAY = "+8610690000"


def _config(tmp_path: Path, port: int, rflink_link: Path, modem_link: Path, ack_timeout_s: float = 15.0,
            **second: Any) -> dict[str, Any]:
    # boot_spread_s 0: a restarted hub with no open emergency would otherwise wait its fleet slot to connect.
    return hub_config(tmp_path, port, rflink_link, alerts={"ack_timeout_s": ack_timeout_s},
                      platform={"boot_spread_s": 0.0}, second_path={
        "enabled": True, "port": str(modem_link), "after_s": 10.0, "unavailable_after_s": 30.0,
        "test_interval_days": 0.0, "status_interval_s": 5.0, "send_timeout_s": 5.0,
        "recipients": [{"number": FAMILY, "language": "zh", "role": "family"},
                       {"number": GATEWAY, "language": "en", "role": "platform_gateway"}], **second})


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _press(rflink: Any) -> float:
    rflink.frame(CODES["sos-bed"], "ON", repeats=3)
    return time.monotonic()


def test_broker_down_a_help_call_goes_by_sms_is_acknowledged_by_reply_and_the_platform_hears_it_later(
        tmp_path, rflink, daemon_factory):
    broker = Mosquitto(persistent=True).start()
    PlatformEmulator("127.0.0.1", broker.port, persistent=True, mode="ignore").start().stop()
    modem = ModemEmulator(tmp_path / "serial-by-id-modem").start()
    try:
        cfg = _config(tmp_path, broker.port, rflink.link, modem.link, ack_timeout_s=30.0)
        hub = daemon_factory(cfg).start()
        hub.wait_event("uplink.connected")
        broker.stop()
        hub.wait_event("uplink.disconnected")

        pressed = _press(rflink)
        stored = hub.wait_event("alert.stored")
        _wait(lambda: len(modem.sent) >= 2, 10.0 + 5.0, "the SMS")
        latency = time.monotonic() - pressed
        sms = {s.number: s for s in modem.sent}
        text = sms[FAMILY].text
        assert text.startswith("【紧急】test-site：紧急求助，卧室（sos-bed）"), text
        sid = re.search(r"收到 ([0-9A-F]{4,8})", text).group(1)  # type: ignore[union-attr]
        assert stored["id"].replace("-", "").upper().startswith(sid)
        assert sms[GATEWAY].text.startswith("EMERGENCY test-site: help call, bedroom (sos-bed)")
        assert latency <= 10.0 + 5.0, latency

        # A restart while the alert is still open and the uplink still down: what was sent is not sent again.
        hub.stop()
        hub = daemon_factory(cfg).start()
        time.sleep(7.0)  # past the 5 s the hub gives a connect at start before it counts the uplink as down
        assert len(modem.sent) == 2, [s.text for s in modem.sent]

        modem.deliver(FAMILY, f"收到 {sid.lower()}")
        acked = hub.wait_event("alert.sms_acknowledged", timeout=15)
        assert acked["id"] == stored["id"] and acked["by"] == f"sms ({FAMILY})"
        _wait(lambda: any("已确认" in s.text for s in modem.sent), 10.0, "the confirmation")
        audit = [json.loads(line) for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
        assert any(e["who"] == f"sms ({FAMILY})" and e["action"] == "alert.acknowledged" for e in audit)

        # No escalation and no SMS for the alert after the acknowledgement (ack_timeout_s is 30 s).
        sent_at_ack = len(modem.sent)
        time.sleep(18.0)
        assert not [e for e in hub.find("alert.escalated") if e["id"] == stored["id"]]
        assert len(modem.sent) == sent_at_ack

        # The broker is back: the platform hears the SMS history and that it was acknowledged.
        broker.start()
        with PlatformEmulator("127.0.0.1", broker.port, persistent=True, mode="ignore") as platform:
            # Up to a minute: the restarted hub spent its 10 connection attempts a minute while the broker
            # was away (gateway/mqtt_loop.py, the flapping limit), and then waits for the next.
            assert platform.wait_for(
                lambda p: any(a["id"] == stored["id"] and a["state"] == "acked" for a in p.alerts), timeout=75), (
                    hub.tail())
            final = [a for a in platform.alerts if a["id"] == stored["id"] and a["state"] == "acked"][-1]
            events = [(e["event"], e["number"]) for e in final["second_path"]["sms"]]
            assert ("sent", FAMILY) in events and ("sent", GATEWAY) in events and ("acknowledged", FAMILY) in events
            assert final["acked_by"] == f"sms ({FAMILY})"
        assert sum(1 for s in modem.sent if s.number == FAMILY and "第0级" in s.text) == 1
        assert hub.stop() == 0
    finally:
        modem.stop()
        broker.stop()


def test_a_refused_sms_is_retried_and_sent_once(tmp_path, mosquitto, rflink, daemon_factory):
    modem = ModemEmulator(tmp_path / "serial-by-id-modem").start()
    try:
        # The platform never acknowledges: after after_s the alert goes by SMS.
        with PlatformEmulator("127.0.0.1", mosquitto.port, mode="ignore") as platform:
            cfg = _config(tmp_path, mosquitto.port, rflink.link, modem.link, ack_timeout_s=60.0,
                          recipients=[{"number": FAMILY, "language": "zh", "role": "family"}])
            hub = daemon_factory(cfg).start()
            hub.wait_event("uplink.connected")
            modem.refuse(1)
            pressed = _press(rflink)
            assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=10)
            failed = hub.wait_event("alert.sms_failed", timeout=20)
            assert failed["error"].startswith("cms_error")
            assert time.monotonic() - pressed >= 10.0  # the platform had its after_s
            hub.wait_event("alert.sms_sent", timeout=20)
            time.sleep(3.0)
            assert len([s for s in modem.sent if s.number == FAMILY and "第0级" in s.text]) == 1
            assert hub.stop() == 0
    finally:
        modem.stop()


def test_a_hung_modem_never_keeps_other_alerts_from_the_platform(tmp_path, mosquitto, rflink, daemon_factory):
    modem = ModemEmulator(tmp_path / "serial-by-id-modem").start()
    try:
        with PlatformEmulator("127.0.0.1", mosquitto.port, mode="ignore") as platform:
            cfg = _config(tmp_path, mosquitto.port, rflink.link, modem.link,
                          recipients=[{"number": FAMILY, "language": "zh", "role": "family"}])
            hub = daemon_factory(cfg).start()
            hub.wait_event("uplink.connected")
            hub.wait_event("modem.opened", timeout=10)
            _press(rflink)
            hub.wait_event("alert.stored")
            assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) >= 1, timeout=10), hub.tail()
            first = platform.alerts_of("help_call")[0]
            modem.hang()  # the SMS after after_s finds a modem that never answers
            hub.wait_event("alert.sms_failed", timeout=40)
            platform.ack(first["_topic"], first["id"])
            hub.wait_event("alert.acked", where=lambda e: e.get("id") == first["id"])
            pressed = _press(rflink)  # a new help call while the modem still hangs
            assert platform.wait_for(
                lambda p: len({a["id"] for a in p.alerts_of("help_call")}) >= 2, timeout=5)
            assert time.monotonic() - pressed < 3.0
            modem.unhang()
            assert hub.stop() == 0
    finally:
        modem.stop()


def test_the_demo_scene_unplugs_the_broker_and_the_help_call_goes_by_sms(tmp_path):
    from simulators.demo_second_path import run_second_path_demo

    lines: list[str] = []
    assert run_second_path_demo(tmp_path / "demo", say=lines.append) == 0, "\n".join(lines)
    text = "\n".join(lines)
    assert "【紧急】王阿姨家：紧急求助" in text and "已确认" in text and "hears the SMS history" in text


def test_a_modem_without_its_sim_raises_second_path_unavailable_and_clears_it(tmp_path, mosquitto, rflink,
                                                                             daemon_factory):
    modem = ModemEmulator(tmp_path / "serial-by-id-modem").start()
    # A platform that leaves technical alerts open, so that the hub's own clearing is seen.
    platform = PlatformEmulator("127.0.0.1", mosquitto.port, mode="ignore").start()
    try:
        cfg = _config(tmp_path, mosquitto.port, rflink.link, modem.link, unavailable_after_s=5.0)
        hub = daemon_factory(cfg).start()
        hub.wait_event("modem.opened", timeout=10)
        modem.remove_sim()
        assert platform.wait_for(lambda p: bool(p.alerts_of("second_path_unavailable")), timeout=30), hub.tail()
        alert = platform.alerts_of("second_path_unavailable")[0]
        # No SIM: the modem says so, or that it is not registered, whichever its poll reads first.
        assert alert["severity"] == "technical" and alert["evidence"]["reason"].startswith(("sim:", "registration:"))
        assert platform.wait_for(lambda p: any(h.get("second_path", {}).get("usable") is False for h in p.health),
                                 timeout=15)
        modem.insert_sim()
        assert platform.wait_for(lambda p: bool(p.alerts_of("second_path_unavailable", state="cleared")),
                                 timeout=30), hub.tail()
        assert hub.stop() == 0
    finally:
        platform.stop()
        modem.stop()


def test_the_path_test_goes_over_both_paths_and_its_result_reaches_the_platform(tmp_path, mosquitto, rflink,
                                                                               platform, daemon_factory):
    modem = ModemEmulator(tmp_path / "serial-by-id-modem").start()
    try:
        cfg = _config(tmp_path, mosquitto.port, rflink.link, modem.link, test_interval_days=30.0)
        hub = daemon_factory(cfg).start()
        _wait(lambda: any(s.number == GATEWAY and "path test" in s.text for s in modem.sent), 20, "the test SMS")
        text = next(s.text for s in modem.sent if s.number == GATEWAY)
        code = re.search(r"OK (T[0-9A-F]{4})", text).group(1)  # type: ignore[union-attr]
        assert platform.wait_for(lambda p: any(a["test"] for a in p.alerts), timeout=10)  # the MQTT half
        modem.deliver(GATEWAY, f"ok {code}")
        hub.wait_event("second_path.test_passed", timeout=20)
        assert platform.wait_for(lambda p: any((h.get("second_path") or {}).get("path_test", {}).get("result")
                                               == "passed" for h in p.health), timeout=15)
        assert not any(s.number == FAMILY for s in modem.sent)  # only the platform's gateway is tested
        assert hub.stop() == 0
    finally:
        modem.stop()
