"""The first connection after a boot: spread by the site id, skipped for help (a fake clock)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from gateway import first_connect
from gateway.boot_spread import BOOT_GRACE_S, BootGate, boot_delay_s, connect_allowance_s, spread_offset_s
from gateway.first_connect import wait_for_turn


def test_the_offset_is_the_same_for_a_site_every_time_and_differs_between_sites():
    assert spread_offset_s("flat-3b", 120.0) == spread_offset_s("flat-3b", 120.0)
    assert spread_offset_s("flat-3b", 120.0) != spread_offset_s("flat-3c", 120.0)
    assert 0.0 <= spread_offset_s("flat-3b", 120.0) < 120.0


def test_offsets_of_a_fleet_are_spread_uniformly_over_the_window_but_its_last_ten_seconds():
    window = 120.0
    offsets = [spread_offset_s(f"site-{i:05d}", window) for i in range(11_000)]
    per_second = Counter(int(o) for o in offsets)
    assert set(per_second) == set(range(110)), "every second is used, and the last 10 s kept for connecting"
    # 100 sites a second on average; a binomial(11000, 1/110) stays within about 4 sigma (40).
    assert max(per_second.values()) < 140 and min(per_second.values()) > 60, per_second.most_common(3)
    assert connect_allowance_s(20.0) == 2.0 and connect_allowance_s(600.0) == 10.0


def test_zero_disables_and_a_service_restart_long_after_the_boot_does_not_wait():
    assert boot_delay_s("flat-3b", 0.0, uptime_s=5.0) == 0.0
    assert boot_delay_s("flat-3b", 120.0, uptime_s=30.0) == spread_offset_s("flat-3b", 120.0)
    assert boot_delay_s("flat-3b", 120.0, uptime_s=120.0 + BOOT_GRACE_S - 1) > 0.0, "a slow boot still waits"
    assert boot_delay_s("flat-3b", 120.0, uptime_s=120.0 + BOOT_GRACE_S + 1) == 0.0


def test_the_gate_counts_down_on_the_clock_it_is_given_and_a_skip_opens_it_at_once():
    gate = BootGate(delay_s=40.0, started=1000.0)
    assert gate.remaining_s(1000.0) == pytest.approx(40.0)
    assert gate.remaining_s(1030.0) == pytest.approx(10.0)
    assert gate.remaining_s(1050.0) == 0.0
    gate = BootGate(delay_s=40.0, started=1000.0)
    gate.skip("alert_waiting")
    gate.skip("later reason")
    assert gate.remaining_s(1000.0) == 0.0 and gate.skipped_for == "alert_waiting"


class FakeClock:
    """time.monotonic and the wait in first_connect, moved by hand: no real seconds pass."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def run_wait(gate: BootGate, clock: FakeClock, monkeypatch, urgent_at: float | None) -> tuple[float, Counter[str]]:
    monkeypatch.setattr(first_connect.time, "monotonic", clock.monotonic)
    counters: Counter[str] = Counter()

    async def fake_woken_within(wake, limit):  # the wake never comes by itself: time passes instead
        step = limit if urgent_at is None else min(limit, max(urgent_at - clock.now, 0.0))
        clock.now += step
        return False

    monkeypatch.setattr(first_connect, "woken_within", fake_woken_within)
    urgent = (lambda: None) if urgent_at is None else (
        lambda: "alert_waiting" if clock.now >= urgent_at else None)
    asyncio.run(wait_for_turn(gate, asyncio.Event(), counters, 120.0, urgent))
    return clock.now, counters


def test_a_hub_with_nothing_urgent_waits_exactly_its_turn(monkeypatch):
    clock = FakeClock()
    end, counters = run_wait(BootGate(delay_s=73.5, started=0.0), clock, monkeypatch, urgent_at=None)
    assert end == pytest.approx(73.5) and counters["boot_spread_waited"] == 1


def test_an_alert_raised_during_the_wait_ends_it_at_once(monkeypatch):
    clock = FakeClock()
    gate = BootGate(delay_s=73.5, started=0.0)
    end, counters = run_wait(gate, clock, monkeypatch, urgent_at=12.0)
    assert end == pytest.approx(12.0) and gate.skipped_for == "alert_waiting"
    assert counters["boot_spread_skipped"] == 1


def test_an_urgent_alert_already_waiting_means_no_wait_at_all(monkeypatch):
    clock = FakeClock()
    end, _ = run_wait(BootGate(delay_s=73.5, started=0.0), clock, monkeypatch, urgent_at=0.0)
    assert end == 0.0


def test_no_more_than_ten_connection_attempts_in_any_minute_whatever_the_backoff_draws():
    from gateway.mqtt_loop import ATTEMPTS_PER_MINUTE, AttemptBudget

    budget = AttemptBudget()
    t, attempts = 0.0, []
    while t < 600.0:  # ten minutes of a hub whose every draw is the floor (1 s)
        t += budget.wait_s(t)
        budget.record(t)
        attempts.append(t)
        t += 1.0
    for i, start in enumerate(attempts):
        in_minute = sum(1 for a in attempts[i:] if a < start + 60.0)
        assert in_minute <= ATTEMPTS_PER_MINUTE < 15, "under EMQX's default flapping limit"
    assert len(attempts) >= 95, "and the budget is used, not wasted"


def test_woken_within_says_whether_the_wake_came_in_time():
    async def both() -> tuple[bool, bool]:
        wake = asyncio.Event()
        late = await first_connect.woken_within(wake, 0.01)
        asyncio.get_running_loop().call_later(0.01, wake.set)
        return late, await first_connect.woken_within(wake, 5.0)

    assert asyncio.run(both()) == (False, True)
