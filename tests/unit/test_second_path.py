"""The second path component over a real store and alert policy, with a fake modem (gateway/paths/).

The daemon-level tests with the modem emulator on a pty are in tests/integration/test_second_path.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from detection.events import Finding, Severity
from drivers.modem.types import IncomingSms, ModemError, ModemStatus
from gateway.alerts import AlertPolicy
from gateway.clock import HubClock
from gateway.config.schema import AlertConfig
from gateway.config.second_path import SecondPathConfig, SmsRecipient
from gateway.paths import decisions
from gateway.paths.context import PathContext
from gateway.paths.second_path import SecondPath
from gateway.store import Store
from gateway.topics import Topics

GATEWAY = "+8610690000"
FAMILY = "+8613800138000"
READY = ModemStatus("ready", "home", -71, 21, "CHINA MOBILE", True, time.monotonic())


class FakeModem:
    def __init__(self, on_sms: Callable[[Any], None], on_status: Callable[[ModemStatus], None]) -> None:
        self.on_sms = on_sms
        self.on_status = on_status
        self.status = READY
        self.counters: dict[str, int] = {}
        self.sent: list[tuple[str, str]] = []
        self.refuse = 0
        self.hang = False

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def send_sms(self, number: str, text: str) -> list[int]:
        if self.hang:
            await asyncio.Event().wait()
        if self.refuse:
            self.refuse -= 1
            raise ModemError("cms_error:500")
        self.sent.append((number, text))
        return [len(self.sent)]

    def reply(self, sender: str, text: str) -> None:
        self.on_sms(IncomingSms(sender, text, None))


class World:
    """A store, an alert policy and a second path, as the daemon wires them."""

    def __init__(self, tmp: Path, **cfg: Any) -> None:
        self.tmp = tmp
        self.store = Store(tmp / "carehub.db")
        self.clock = HubClock(lambda: True)
        self.topics = Topics.for_site("carehub/v1", "s1")
        self.policy = AlertPolicy(self.store, AlertConfig(ack_timeout_s=cfg.pop("ack_timeout_s", 60.0)), "s1",
                                  self.topics, self.clock, wake_uplink=lambda: None)
        self.policy.resume()
        self.connected = False
        self.audits: list[tuple[str, str, list[dict[str, Any]]]] = []
        defaults: dict[str, Any] = dict(
            enabled=True, after_s=0.5, unavailable_after_s=0.3, test_interval_days=0.0,
            recipients=[SmsRecipient(GATEWAY, "en", "platform_gateway"), SmsRecipient(FAMILY, "zh", "family")])
        self.cfg = SecondPathConfig(**{**defaults, **cfg})
        self.modems: list[FakeModem] = []

    def _modem(self, on_sms: Callable[[Any], None], on_status: Callable[[ModemStatus], None]) -> FakeModem:
        self.modems.append(FakeModem(on_sms, on_status))
        return self.modems[-1]

    @property
    def modem(self) -> FakeModem:
        return self.modems[-1]

    def path(self) -> SecondPath:
        async def audit(who: str, action: str, changed: list[dict[str, Any]]) -> None:
            self.audits.append((who, action, changed))

        ctx = PathContext(store=self.store, policy=self.policy, clock=self.clock, site_id=lambda: "s1",
                          site_name=lambda: "王阿姨家", topics=lambda: self.topics,
                          uplink_connected=lambda: self.connected, wake_uplink=lambda: None,
                          on_finding=self.policy.on_finding, audit=audit)
        return SecondPath(self.cfg, ctx, self._modem)

    def press(self) -> str:
        now = self.clock.now()
        self.policy.on_finding(Finding(type="help_call", severity=Severity.EMERGENCY, at=now,
                                       key=f"help:sos-{now.t}", device="sos-bed", room="bedroom"))
        return self.policy.open_alerts()[-1].id

    def outbox(self) -> list[dict[str, Any]]:
        return [json.loads(r.payload) for r in self.store.outbox(limit=1000)]


async def _until(check: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _running(path: SecondPath) -> asyncio.Task[None]:
    task = asyncio.create_task(path.run())
    await asyncio.sleep(0.05)
    return task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_uplink_down_an_emergency_goes_by_sms_at_once_and_a_reply_acknowledges_it(tmp_path):
    w = World(tmp_path, after_s=60.0)
    path = w.path()
    task = await _running(path)
    try:
        path.sender._last_up_t -= decisions.UPLINK_GRACE_S  # the uplink has been down a while
        alert_id = w.press()
        await _until(lambda: len(w.modem.sent) == 2)
        sid = path.ledger.short_ids[alert_id]
        assert alert_id.replace("-", "").upper().startswith(sid) and len(sid) == 4
        texts = dict(w.modem.sent)
        assert texts[FAMILY].startswith("【紧急】王阿姨家：紧急求助，卧室（sos-bed）")
        assert f"收到 {sid}" in texts[FAMILY]
        assert texts[GATEWAY].startswith("EMERGENCY 王阿姨家: help call, bedroom (sos-bed)")
        # The platform hears of it through the outbox, with the SMS history.
        updates = [m for m in w.outbox() if m.get("second_path")]
        assert updates and {e["event"] for e in updates[-1]["second_path"]["sms"]} == {"sent"}

        w.modem.reply(FAMILY, f"收到 {sid.lower()}")
        row = w.store.get_alert(alert_id)
        assert row is not None and row.state == "acked" and row.acked_by == f"sms ({FAMILY})"
        assert w.policy.open_alerts() == []  # no escalation after this
        last = w.outbox()[-1]
        assert last["state"] == "acked" and last["acked_by"] == f"sms ({FAMILY})"
        assert last["second_path"]["sms"][-1]["event"] == "acknowledged"
        await _until(lambda: len(w.modem.sent) == 3)
        assert w.modem.sent[-1][0] == FAMILY and "已确认" in w.modem.sent[-1][1]
        await _until(lambda: bool(w.audits))
        assert w.audits[0][:2] == (f"sms ({FAMILY})", "alert.acknowledged")
        # The same reply again: already closed, nothing acted on, nothing answered.
        w.modem.reply(FAMILY, f"OK {sid}")
        await asyncio.sleep(0.3)
        assert len(w.modem.sent) == 3 and path.counters["replies_late"] == 1
    finally:
        await _stop(task)


async def test_unacknowledged_after_after_s_it_goes_by_sms_once_per_level_across_restarts(tmp_path, monkeypatch):
    monkeypatch.setattr(decisions, "LEVEL_GAP_S", 0.3)
    w = World(tmp_path, after_s=0.4, ack_timeout_s=0.8)
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        alert_id = w.press()
        await asyncio.sleep(0.2)
        assert w.modem.sent == []  # the platform still has time
        await _until(lambda: len(w.modem.sent) == 2)
        assert "level 0" in dict(w.modem.sent)[GATEWAY]
        for _ in range(8):
            w.policy.tick()
            await asyncio.sleep(0.05)
        await _until(lambda: w.policy.open_alerts()[0].level >= 1)
        await _until(lambda: len(w.modem.sent) == 4)
        assert "level 1" in dict(w.modem.sent[2:])[GATEWAY]
    finally:
        await _stop(task)
    # A restart: the same store, a new component. Nothing already sent goes again.
    w.policy = AlertPolicy(w.store, AlertConfig(ack_timeout_s=1000.0), "s1", w.topics, w.clock,
                           wake_uplink=lambda: None)
    w.policy.resume()
    path = w.path()
    task = await _running(path)
    try:
        await asyncio.sleep(0.8)
        assert w.modem.sent == []
        assert {(k.level, k.number) for k in path.ledger.states if k.alert_id == alert_id} == {
            (0, GATEWAY), (0, FAMILY), (1, GATEWAY), (1, FAMILY)}
    finally:
        await _stop(task)


async def test_a_refused_send_is_retried_and_then_sent_once(tmp_path, monkeypatch):
    monkeypatch.setattr(decisions, "RETRY_S", (0.2,))
    w = World(tmp_path, after_s=0.2, recipients=[SmsRecipient(FAMILY, "zh", "family")])
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        w.modem.refuse = 1
        alert_id = w.press()
        await _until(lambda: len(w.modem.sent) == 1)
        await asyncio.sleep(0.5)
        assert len(w.modem.sent) == 1
        events = [h["event"] for h in path.ledger.histories[alert_id]]
        assert events == ["attempt", "failed", "attempt", "sent"]
        assert path.ledger.histories[alert_id][1]["error"] == "cms_error:500"
    finally:
        await _stop(task)


async def test_a_send_interrupted_by_a_restart_is_never_sent_again(tmp_path):
    w = World(tmp_path, after_s=0.1, recipients=[SmsRecipient(FAMILY, "zh", "family")])
    w.connected = True
    path = w.path()
    task = await _running(path)
    w.modems[-1].hang = True
    alert_id = w.press()
    await _until(lambda: path.sender.sending is not None)
    await _stop(task)  # killed mid-send
    path = w.path()
    task = await _running(path)
    try:
        await asyncio.sleep(0.5)
        assert w.modem.sent == []
        assert [h["event"] for h in path.ledger.histories[alert_id]] == ["attempt", "interrupted"]
    finally:
        await _stop(task)


async def test_a_hung_modem_gives_up_the_send_and_never_holds_the_policy(tmp_path):
    w = World(tmp_path, after_s=0.1, send_timeout_s=0.2, recipients=[SmsRecipient(FAMILY, "zh", "family")])
    w.connected = True
    from gateway.paths import sender

    sender.TIMEOUT_MARGIN_S, margin = 0.1, sender.TIMEOUT_MARGIN_S
    path = w.path()
    task = await _running(path)
    try:
        w.modem.hang = True
        first = w.press()
        await _until(lambda: path.sender.sending is not None)
        second = w.press()  # the policy goes on while the modem hangs
        assert {a.id for a in w.policy.open_alerts()} == {first, second}
        await _until(lambda: path.counters["send_hung"] >= 1)
        assert path.ledger.histories[first][1]["error"] == "timeout"
    finally:
        sender.TIMEOUT_MARGIN_S = margin
        await _stop(task)


async def test_replies_from_unknown_numbers_or_for_unknown_ids_are_counted_and_never_acted_on(tmp_path):
    w = World(tmp_path, after_s=0.1)
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        alert_id = w.press()
        await _until(lambda: len(w.modem.sent) == 2)
        sid = path.ledger.short_ids[alert_id]
        w.modem.reply("+8613111111111", f"OK {sid}")
        w.modem.reply(FAMILY, "OK FFFF" if not sid.startswith("FFFF") else "OK 0000")
        w.modem.reply(FAMILY, "what happened?")
        assert w.store.get_alert(alert_id).state == "open"  # type: ignore[union-attr]
        assert (path.counters["replies_unknown_number"], path.counters["replies_unknown_id"],
                path.counters["replies_unreadable"]) == (1, 1, 1)
    finally:
        await _stop(task)


async def test_an_unusable_modem_raises_second_path_unavailable_and_clears_it_when_back(tmp_path):
    w = World(tmp_path)
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        w.modem.status = ModemStatus("absent", "unknown", None, None, None, True, time.monotonic())
        await _until(lambda: any(a.type == "second_path_unavailable" for a in w.policy.open_alerts()))
        alert = next(a for a in w.policy.open_alerts() if a.type == "second_path_unavailable")
        assert alert.severity == "technical" and alert.evidence["reason"] == "sim:absent"
        assert path.status()["usable"] is False and path.status()["problem"] == "sim:absent"
        w.modem.status = READY
        await _until(lambda: w.store.get_alert(alert.id).state == "cleared")  # type: ignore[union-attr]
        st = path.status()
        assert st["usable"] is True and st["bars"] == 5 and st["signal_dbm"] == -71
    finally:
        await _stop(task)


async def test_the_path_test_sends_over_both_paths_and_keeps_the_evidence(tmp_path):
    w = World(tmp_path, test_interval_days=30.0)
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        await _until(lambda: path.path_test.last is not None and len(w.modem.sent) == 1)
        last = path.path_test.last
        assert last is not None and last["result"] == "pending"
        number, text = w.modem.sent[0]
        assert number == GATEWAY and last["code"] in text
        w.policy.on_platform_ack(last["mqtt"]["alert_id"], "platform")
        w.modem.reply(GATEWAY, f"OK {last['code']}")
        await _until(lambda: path.path_test.last is not None and path.path_test.last["result"] == "passed")
        assert path.status()["path_test"]["sms"]["ok"] is True
    finally:
        await _stop(task)
    # Kept across a restart: not run again before the interval.
    path = w.path()
    task = await _running(path)
    try:
        await asyncio.sleep(1.5)
        assert path.path_test.last is not None and path.path_test.last["result"] == "passed"
        assert w.modem.sent == []
    finally:
        await _stop(task)


@pytest.mark.parametrize("severity", ["wellbeing", "technical"])
async def test_only_emergency_and_urgent_alerts_go_by_sms(tmp_path, severity):
    w = World(tmp_path, after_s=0.1)
    path = w.path()
    task = await _running(path)
    try:
        now = w.clock.now()
        w.policy.on_finding(Finding(type="device_offline", severity=Severity(severity), at=now, key="x"))
        w.policy.raise_test("tech")
        await asyncio.sleep(0.5)
        assert w.modem.sent == []
    finally:
        await _stop(task)


async def test_a_card_that_refuses_writes_does_not_stop_the_sms(tmp_path, monkeypatch):
    import sqlite3
    from contextlib import contextmanager

    w = World(tmp_path, after_s=0.1, recipients=[SmsRecipient(FAMILY, "zh", "family")])
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        @contextmanager
        def refused():  # type: ignore[no-untyped-def]
            raise sqlite3.OperationalError("disk I/O error")
            yield

        alert_id = w.press()
        monkeypatch.setattr(path.ledger.store, "transaction", refused)
        await _until(lambda: len(w.modem.sent) == 1)
        await asyncio.sleep(0.3)
        assert len(w.modem.sent) == 1  # kept in memory: not sent twice either
        assert path.ledger.write_failures >= 2 and path.status()["counters"]["store_failures"] >= 2
        assert [h["event"] for h in path.ledger.histories[alert_id]] == ["attempt", "sent"]
    finally:
        await _stop(task)


def test_the_platform_cannot_change_who_gets_the_sms(tmp_path):
    from gateway.config import merge, validate
    from gateway.platform_changes import check

    old = validate({"second_path": {"enabled": True, "recipients": [{"number": FAMILY}]}})
    new = merge(old, {"second_path": {"recipients": [{"number": "+8613111111111"}]}})
    errors, _ = check(old, new, None)
    assert errors and all(e.path.startswith("second_path") for e in errors)


async def test_a_path_test_nobody_answers_fails_and_a_late_answer_does_not_pass_it(tmp_path):
    w = World(tmp_path, test_interval_days=30.0, test_ack_timeout_s=0.5)
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        await _until(lambda: path.path_test.last is not None and len(w.modem.sent) == 1)
        await _until(lambda: path.path_test.last is not None and path.path_test.last["result"] == "failed")
        last = path.path_test.last
        assert last is not None and last["mqtt"]["ok"] is False and last["sms"]["ok"] is False
        w.modem.reply(GATEWAY, f"OK {last['code']}")
        assert path.path_test.last is not None and path.path_test.last["result"] == "failed"
        assert path.counters["replies_unknown_id"] == 0  # the code is known: consumed, not acted on
    finally:
        await _stop(task)


async def test_old_records_are_pruned_but_never_those_of_an_open_alert(tmp_path):
    w = World(tmp_path, after_s=0.1, recipients=[SmsRecipient(FAMILY, "zh", "family")])
    w.connected = True
    path = w.path()
    task = await _running(path)
    try:
        alert_id = w.press()
        await _until(lambda: len(w.modem.sent) == 1)
    finally:
        await _stop(task)
    from gateway.paths.ledger import KEEP_DAYS, SmsLedger

    later = SmsLedger(w.store, wall=lambda: time.time() + 2 * KEEP_DAYS * 86400)  # a clock far ahead
    assert any(k.alert_id == alert_id for k in later.states)


def test_the_gap_between_two_levels_holds_across_a_restart(tmp_path):
    from gateway.paths.ledger import SmsLedger
    from gateway.paths.sender import sent_times

    w = World(tmp_path)
    ledger = SmsLedger(w.store, wall=lambda: 1000.0)
    ledger.record("a", 0, FAMILY, "attempt", {})
    ledger.record("a", 0, FAMILY, "sent", {})
    again = SmsLedger(w.store, wall=lambda: 1010.0)
    assert sent_times(again, now_t=50.0, now_wall=1010.0) == {("a", FAMILY): 40.0}
    assert sent_times(again, now_t=50.0, now_wall=900.0) == {}  # the clock went back: no gap kept
