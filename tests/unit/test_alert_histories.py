"""Random histories through the real alert policy and a real SQLite store (hypothesis, stateful).

Findings (help presses, falls with cancel windows, recoveries, button cancels,
conditions raised and cleared, notices, test alarms, buttons' call requests), platform acknowledgements
(of known and unknown ids, twice), the broker's PUBACKs, uplink connects, time
passing, restarts (a new policy on the same store, or the store reopened as after
a reboot) and a card that refuses writes and comes back, in any order. After
every step:

* no alert is lost: every alert that left its cancel window has an ``open``
  message the platform can hear (in the outbox, acknowledged by the broker, or
  sent from memory), every cancelled fall a ``cancelled`` one; every help press
  leaves an open help alert (or cancels its wearable's pending fall);
* ids are unique and every id keeps its sequence number; a new alert's number is
  above every number seen before, across storage failures and restarts;
* a final alert (acknowledged, cancelled, cleared, closed) never becomes active
  again and never gets another ``open`` message: for ever once the store holds
  that state, for the rest of the boot when only memory does (a card that refused
  the write makes the next boot start from what the card kept: an acknowledgement
  it lost is asked for again, a cancel it lost raises the fall, the safe side);
* an overdue emergency escalates one level per tick, up to the maximum; test
  alarms never escalate.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from detection.events import Finding, FindingState, Severity, Stamp
from gateway.alerts import AlertPolicy
from gateway.alerts.states import FINAL
from gateway.config.schema import AlertConfig
from gateway.store import OPEN_STATES, Store
from gateway.topics import Topics

CFG = AlertConfig(ack_timeout_s=60, max_escalation_level=2, help_repeat_window_s=120)
WINDOW_S = 30.0
BUTTONS = ("sos", "pendant", "watch")
WEARABLES = ("pendant", "watch")
FINAL_STATES = {s.value for s in FINAL}


class Clock:
    """A boot's clocks: monotonic ``t`` from near zero, the wall clock carried by the machine."""

    def __init__(self, boot: int, wall: list[float]) -> None:
        self.t = 5.0
        self.boot_id = f"boot-{boot}"
        self.synced = True
        self._wall = wall
        self._wall_at_t0 = wall[0] - self.t

    def now(self) -> Stamp:
        return Stamp(self.t, self.t)

    def utc_of(self, stamp: Stamp) -> float:
        return self._wall_at_t0 + stamp.t


class AlertHistories(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="carehub-alerts-"))
        self.path = self.dir / "s.db"
        self.store = Store(self.path)
        self.wall = [1_700_000_000.0]
        self.boot = 0
        self.failing = False
        self.heard: list[dict[str, Any]] = []  # every message the platform could hear, in order
        self.from_memory: list[dict[str, Any]] = []
        self.outbox_seen = 0  # highest outbox msg_id already in ``heard``
        self.memory_seen = 0
        self.checked = 0  # messages in ``heard`` the invariant has already checked
        self.seq_of: dict[str, int] = {}
        self.id_of: dict[int, str] = {}
        self.top_seq = 0
        self.final_stored: set[str] = set()
        self.final_in_memory: set[str] = set()  # this boot
        self.active_before: set[str] = set()
        self.acked: list[str] = []
        self.policy = self._start()

    # --- the hub --------------------------------------------------------------

    def _start(self) -> AlertPolicy:
        self.boot += 1
        self.clock = Clock(self.boot, self.wall)
        policy = AlertPolicy(self.store, CFG, "site", Topics.for_site("carehub/v1", "site"),
                             self.clock, wake_uplink=lambda: None,  # type: ignore[arg-type]
                             fallback_publish=lambda _t, p: self.from_memory.append(json.loads(p)),
                             wall=lambda: self.wall[0])
        policy.resume()
        return policy

    def _advance(self, dt: float) -> None:
        self.clock.t += dt
        self.wall[0] += dt

    def _finding(self, **kw: Any) -> Finding:
        return Finding(at=self.clock.now(), **kw)

    def _active(self) -> dict[str, Any]:
        return {r.id: r for r in self.policy.open_alerts()}

    def _messages_for(self, alert_id: str, since: int = 0) -> list[dict[str, Any]]:
        return [m for m in self.heard[since:] if m["id"] == alert_id]

    def _observe(self) -> list[dict[str, Any]]:
        rows = self.store.outbox(after=self.outbox_seen, limit=10_000)
        new = [json.loads(r.payload) for r in rows]
        if rows:
            self.outbox_seen = rows[-1].msg_id
        new += self.from_memory[self.memory_seen:]
        self.memory_seen = len(self.from_memory)
        self.heard += new
        return new

    # --- findings -------------------------------------------------------------

    @initialize()
    def begin(self) -> None:
        self._observe()

    @rule(device=st.sampled_from(BUTTONS))
    def press(self, device: str) -> None:
        before = self._active()
        pending_fall = next((a for a in before.values() if a.finding_key == f"fall:{device}"
                             and a.state == "pending"), None)
        self.policy.on_finding(self._finding(type="help_call", severity=Severity.EMERGENCY, key=f"help:{device}",
                                             device=device, room="bedroom"))
        mark = len(self.heard)
        self._observe()
        after = self._active()
        if pending_fall is not None:
            assert pending_fall.id not in after
            assert any(m["state"] == "cancelled" for m in self._messages_for(pending_fall.id, mark))
            return
        (help_alert,) = [a for a in after.values() if a.finding_key == f"help:{device}"]
        assert help_alert.state == "open"
        assert any(m["state"] == "open" for m in self._messages_for(help_alert.id)), "a help call nobody hears"

    @rule(device=st.sampled_from(WEARABLES))
    def fall(self, device: str) -> None:
        had = [a.id for a in self._active().values() if a.finding_key == f"fall:{device}"]
        self.policy.on_finding(self._finding(type="fall", severity=Severity.EMERGENCY, key=f"fall:{device}",
                                             device=device, cancel_window_s=WINDOW_S, evidence={"score": 0.9}))
        falls = [a for a in self._active().values() if a.finding_key == f"fall:{device}"]
        if had:
            assert [a.id for a in falls] == had, "one alert per condition"
        else:
            assert [a.state for a in falls] == ["pending"]

    @rule(device=st.sampled_from(WEARABLES), reason=st.sampled_from(["recovery", "button"]))
    def fall_cancelled(self, device: str, reason: str) -> None:
        self.policy.on_finding(self._finding(type="fall", severity=Severity.EMERGENCY, key=f"fall:{device}",
                                             device=device, state=FindingState.CANCELLED,
                                             evidence={"reason": reason, "angle_to_upright_deg": 10}))

    @rule(kind=st.sampled_from(["inactivity", "offline"]), cleared=st.booleans())
    def condition(self, kind: str, cleared: bool) -> None:
        severity = Severity.URGENT if kind == "inactivity" else Severity.TECHNICAL
        state = FindingState.CLEARED if cleared else FindingState.RAISED
        self.policy.on_finding(self._finding(type=kind, severity=severity, key=kind, state=state))

    @rule(service=st.sampled_from(["call_back", "meals"]), device=st.sampled_from(BUTTONS))
    def call_request(self, service: str, device: str) -> None:
        """A button asks for a service: open until acknowledged, folded per service, never an emergency."""
        key = f"request:{service}"
        before = [a.id for a in self._active().values() if a.finding_key == key]
        self.policy.on_finding(self._finding(type="call_request", severity=Severity.INFO, key=key, device=device,
                                             evidence={"button": device, "service": service, "pattern": "double"}))
        self._observe()
        after = [a for a in self._active().values() if a.finding_key == key]
        assert len(after) == 1 and after[0].state == "open" and after[0].severity == "info"
        if before:
            assert [a.id for a in after] == before, "the same service asked again folds into the open request"
        assert any(m["state"] == "open" for m in self._messages_for(after[0].id)), "a request nobody hears"

    @rule()
    def notice(self) -> None:
        self.policy.on_finding(self._finding(type="wellbeing", severity=Severity.WELLBEING,
                                             key=f"w:{uuid.uuid4().hex}"))

    @rule()
    def test_alarm(self) -> None:
        assert self.policy.raise_test("tech") in self._active()

    # --- the platform and the broker ------------------------------------------

    @precondition(lambda self: bool(self.heard))
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        # In the order heard, not sorted: ids are random, and the draw must not depend on them.
        alert_id = data.draw(st.sampled_from(list(dict.fromkeys(m["id"] for m in self.heard))))
        known = alert_id in self._active() or self.store.get_alert(alert_id) is not None
        assert self.policy.on_platform_ack(alert_id, "operator") is known
        assert alert_id not in self._active()
        self.acked.append(alert_id)

    @precondition(lambda self: bool(self.acked))
    @rule(data=st.data())
    def ack_again(self, data: st.DataObject) -> None:
        alert_id = data.draw(st.sampled_from(self.acked))
        self.policy.on_platform_ack(alert_id)
        assert alert_id not in self._active()

    @rule()
    def ack_unknown(self) -> None:
        assert self.policy.on_platform_ack(str(uuid.uuid4())) is False

    @rule(data=st.data())
    def puback(self, data: st.DataObject) -> None:
        rows = self.store.outbox(limit=10_000)
        if not rows:
            return
        row = data.draw(st.sampled_from(rows))
        if self.failing:
            try:
                self.store.outbox_published(row.msg_id, self.wall[0])
            except sqlite3.Error:
                pass
            assert [r.msg_id for r in self.store.outbox(limit=10_000)] == [r.msg_id for r in rows]
            return
        assert self.store.outbox_published(row.msg_id, self.wall[0]) == row.alert_id
        if row.alert_id and (stored := self.store.get_alert(row.alert_id)) is not None:
            assert stored.first_published_wall is not None

    @rule()
    def connect(self) -> None:
        waiting = self.store.outbox_alert_ids()
        due = {a.id for a in self._active().values() if a.state == "open" and a.id not in waiting}
        mark = len(self.heard)
        assert self.policy.resend_open() == len(due)
        self._observe()
        assert {m["id"] for m in self.heard[mark:] if m.get("note") == "re-sent on connect"} == due

    # --- time, storage, restarts ----------------------------------------------

    @rule(dt=st.sampled_from([1.0, 10.0, 29.0, 31.0, 61.0, 200.0]))
    def tick(self, dt: float) -> None:
        overdue = {a.id: a.level for a in self._active().values()
                   if a.state == "open" and a.severity in ("emergency", "urgent") and not a.test}
        self._advance(dt)
        mark = len(self.heard)
        self.policy.tick()
        self._observe()
        if dt >= CFG.ack_timeout_s:
            for alert_id, level in overdue.items():
                levels = [m["level"] for m in self._messages_for(alert_id, mark)]
                assert levels == [min(level + 1, CFG.max_escalation_level)], (alert_id, level, levels)
        if dt > WINDOW_S:
            assert not [a for a in self._active().values() if a.state == "pending"], "a window that never ends"

    @precondition(lambda self: not self.failing)
    @rule()
    def card_refuses_writes(self) -> None:
        self.store._db.execute("PRAGMA query_only=ON")
        self.failing = True

    @precondition(lambda self: self.failing)
    @rule()
    def card_accepts_writes(self) -> None:
        self.store._db.execute("PRAGMA query_only=OFF")
        self.failing = False

    @rule(reboot=st.booleans())
    def restart(self, reboot: bool) -> None:
        """A new policy on the same store (the hub restarted), or the store reopened too (a reboot)."""
        if reboot:
            self.store.close()
            self.store = Store(self.path)  # a fresh connection: the card works again
            self.failing = False
        self.policy = self._start()
        self.final_in_memory = set()
        self.active_before = set()
        active = self._active()
        assert not [a for a in active.values() if a.state == "pending"], "pending at start is raised at once"
        if not self.failing:
            left = {r.id for r in self.store.alerts(OPEN_STATES, limit=10_000)}
            assert left <= set(active), "an active alert forgotten over a restart"

    # --- invariants -----------------------------------------------------------

    @invariant()
    def nothing_lost_nothing_reused_nothing_reopened(self) -> None:
        self._observe()
        new_messages = self.heard[self.checked:]  # since the last check, whoever observed them
        self.checked = len(self.heard)
        active = self._active()
        stored = {r.id: r for r in self.store.alerts(limit=10_000)}
        # Numbers: one per id, one id per number, and new alerts above all seen before.
        seen = [(r.id, r.seq) for r in (*stored.values(), *active.values())]
        seen += [(m["id"], m["seq"]) for m in self.heard]
        top = self.top_seq
        for alert_id, seq in seen:
            assert seq > 0
            if alert_id not in self.seq_of:
                assert seq > top, f"new alert {alert_id} numbered {seq}, not above {top}"
                self.seq_of[alert_id] = seq
                self.top_seq = max(self.top_seq, seq)
            assert self.seq_of[alert_id] == seq, f"{alert_id} renumbered"
            assert self.id_of.setdefault(seq, alert_id) == alert_id, f"seq {seq} used twice"
        # Heard: every raised alert has reached the platform's side.
        states = {(m["id"], m["state"]) for m in self.heard}
        heard_ids = {m["id"] for m in self.heard}
        for row in active.values():
            assert row.state in ("pending", "open")
            if row.state == "open":
                assert (row.id, "open") in states, f"open alert {row.id} never heard"
        for row in stored.values():
            if row.state == "cancelled":
                assert (row.id, "cancelled") in states
            elif row.state == "acked":
                assert row.id in heard_ids
            elif row.state != "pending":
                assert (row.id, "open") in states, f"{row.state} alert {row.id} never heard"
        # Final stays final.
        final = self.final_stored | self.final_in_memory
        for m in new_messages:
            assert not (m["id"] in final and m["state"] == "open"), f"final alert {m['id']} sent as open"
            if m["type"] == "call_request":  # its own payload: no level, no severity, never escalated
                assert "level" not in m and "severity" not in m and m["state"] == "open"
                continue
            assert m["level"] <= CFG.max_escalation_level
            assert not (m["test"] and m["level"] > 0), "a test alarm escalated"
        assert not final & set(active), "a final alert became active again"
        assert not {i for i in self.final_stored if stored.get(i) and stored[i].state in OPEN_STATES}
        self.final_stored |= {r.id for r in stored.values() if r.state in FINAL_STATES}
        self.final_in_memory |= self.active_before - set(active)
        self.active_before = set(active)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)


AlertHistories.TestCase.settings = settings(
    max_examples=50, stateful_step_count=35, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_alert_histories = AlertHistories.TestCase
