"""The daily vitals summary leaves once per local day, through the outbox."""

from __future__ import annotations

import json

from detection.events import Stamp, VitalSign
from detection.vitals import VitalsMonitor
from gateway.store import open_store
from gateway.topics import Topics
from gateway.vitals_summary import DailyVitalsSender

DAY = 86400.0
D0 = 20000


class Clock:
    def __init__(self, local: float, synced: bool = True) -> None:
        self.local, self.synced = local, synced

    def now(self) -> Stamp:
        return Stamp(self.local, self.local, self.synced)


def sender(tmp_path, detectors, clock):  # type: ignore[no-untyped-def]
    store, _ = open_store(tmp_path / "carehub.db")
    woken: list[int] = []
    topic = Topics.for_site("carehub/v1", "s1").vitals_summary
    s = DailyVitalsSender(lambda: detectors, store, lambda: topic, "s1", clock, lambda: woken.append(1))  # type: ignore[arg-type]
    return s, store, woken


def test_one_summary_per_day_after_midnight(tmp_path):
    m = VitalsMonitor()
    clock = Clock(D0 * DAY + 10 * 3600)
    s, store, woken = sender(tmp_path, [m], clock)
    assert s.send_due() == []  # a new hub: nothing before it was installed
    m.observe(VitalSign(device="cuff", at=Stamp(clock.local, clock.local), systolic_mmhg=131, diastolic_mmhg=82))
    assert s.send_due() == []  # the day is not over
    clock.local = (D0 + 1) * DAY + 60
    assert s.send_due() == [D0] and woken == [1]
    assert s.send_due() == []  # once
    (row,) = store.outbox()
    body = json.loads(row.payload)
    assert row.topic == "carehub/v1/s1/vitals/summary" and row.qos == 1 and not row.retain
    assert body["type"] == "vitals_summary" and body["site"] == "s1" and body["date"] == "2024-10-04"
    assert body["measurements"]["systolic"] == 1 and body["systolic"]["median"] == 131


def test_days_missed_while_off_are_each_sent_once_up_to_a_week(tmp_path):
    clock = Clock(D0 * DAY)
    s, store, _ = sender(tmp_path, [VitalsMonitor()], clock)
    s.send_due()
    clock.local = (D0 + 3) * DAY + 5
    assert s.send_due() == [D0, D0 + 1, D0 + 2]  # a day nothing was measured is news too
    clock.local = (D0 + 30) * DAY
    assert s.send_due() == list(range(D0 + 23, D0 + 30))
    assert len(store.outbox()) == 10


def test_nothing_without_a_synced_clock_or_the_detector(tmp_path):
    clock = Clock(D0 * DAY, synced=False)
    s, store, _ = sender(tmp_path, [VitalsMonitor()], clock)
    assert s.send_due() == [] and store.kv_get("vitals_summary.last_day") is None
    (tmp_path / "vitals_off").mkdir()
    s2, _, _ = sender(tmp_path / "vitals_off", [], Clock(D0 * DAY))
    assert s2.send_due() == []
