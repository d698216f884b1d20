"""The pipeline keeps going when a detector fails, and batches the journal."""

from __future__ import annotations

from typing import Any

from detection.events import ButtonPress, Finding, Motion, Observation, Stamp
from detection.help_call import HelpCallDetector
from gateway.pipeline import DeviceRegistry, DeviceState, Pipeline
from gateway.store import Store


class Clock:
    def now(self) -> Stamp:
        return Stamp(1.0, 1.0)

    def utc_of(self, stamp: Stamp) -> float:
        return 1_700_000_000 + stamp.t


class Broken:
    name = "broken"

    def observe(self, obs: Observation) -> list[Finding]:
        raise ZeroDivisionError

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass


def test_a_failing_detector_does_not_stop_the_help_call(tmp_path):
    found: list[Finding] = []
    store = Store(tmp_path / "s.db")
    reg = DeviceRegistry()
    reg.configure([DeviceState("sos", "sos", "bedroom")])
    p = Pipeline([Broken(), HelpCallDetector()], found.append, Clock(), store, registry=reg)  # type: ignore[arg-type]
    p.submit(ButtonPress(device="sos", at=Stamp(5, 5), room="bedroom"))
    assert [f.type for f in found] == ["help_call"]
    assert p.counters["detector_errors.broken"] == 1
    assert reg.devices["sos"].last_seen_wall == 1_700_000_005
    assert store.journal_recent() == []  # not written per observation...
    p.submit(Motion(device="pir", at=Stamp(6, 6)))
    p.flush_journal()  # ...but in one batch
    assert [r["kind"] for r in store.journal_recent()] == ["motion", "button"]
    assert [e["kind"] for e in p.bus.recent][:1] == ["button"]
