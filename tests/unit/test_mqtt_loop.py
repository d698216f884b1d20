"""paho on the event loop: reconnect backoff with full jitter, reset by an accepted connection."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from gateway import mqtt_loop
from gateway.mqtt_loop import LoopDriver


class RefusingClient:
    """Stands in for paho: every connect is refused, as by a broker that is down."""

    def __init__(self) -> None:
        self.on_socket_open: Any = None
        self.on_socket_close: Any = None
        self.attempts = 0

    def reconnect(self) -> None:
        self.attempts += 1
        raise ConnectionRefusedError(111, "Connection refused")


def test_backoff_doubles_to_its_ceiling_with_full_jitter_and_is_logged_once_a_minute(monkeypatch, capsys):
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(s: float) -> None:
        delays.append(s)
        await real_sleep(0)

    monkeypatch.setattr(mqtt_loop.asyncio, "sleep", fake_sleep)
    client = RefusingClient()
    driver = LoopDriver(client, min_delay_s=1.0, max_delay_s=16.0, describe=lambda: "mqtt://x",  # type: ignore[arg-type]
                        rng=random.Random(7))
    driver.budget = mqtt_loop.AttemptBudget(limit=1000)  # the budget (10 a minute) is tested on its own

    async def main() -> None:
        task = asyncio.create_task(driver.run())
        while client.attempts < 12:
            await real_sleep(0.001)
        driver.stop()
        await task

    asyncio.run(main())
    ceilings = [min(1.0 * 2 ** (i + 1), 16.0) for i in range(len(delays))]  # doubled before each wait
    assert all(1.0 <= d <= c for d, c in zip(delays, ceilings, strict=True)), delays
    assert max(delays) > 8.0 and len(set(delays)) == len(delays), "jittered, and reaching the ceiling"
    assert driver.connect_failures >= 11
    out = capsys.readouterr().out
    assert out.count("uplink.connect_failed") == 1, "a broker that stays away is said once a minute"


def test_a_connection_that_lasted_starts_the_backoff_afresh_and_one_dropped_at_once_does_not(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(mqtt_loop.time, "monotonic", lambda: now[0])
    driver = LoopDriver(RefusingClient(), min_delay_s=0.5, max_delay_s=30.0, describe=lambda: "x")  # type: ignore[arg-type]
    driver._delay = 30.0
    driver.accepted()
    now[0] += 2.0  # accepted, then dropped at once (a kick, a duplicate client id): still backing off
    driver._lost()
    assert driver._delay == pytest.approx(30.0)
    driver.accepted()
    now[0] += mqtt_loop.STABLE_S
    driver._lost()
    assert driver._delay == pytest.approx(0.5)
