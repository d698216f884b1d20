"""Two platform workers split the alerts through one shared subscription (docs/fleet.md).

``$share/carehub-platform/carehub/v1/+/alert`` on a real mosquitto: the broker
hands each alert message to one worker of the group; each acknowledges what it
got, so every alert is handled exactly once and every hub hears its
acknowledgement. When one worker goes away, the other takes all of them.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from detection.events import Finding, Severity
from gateway.fleet import HubFleet
from simulators.broker import Mosquitto
from simulators.platform import PlatformEmulator

HUBS = 20
GROUP = "carehub-platform"


def raise_help_calls(fleet: HubFleet, tag: str) -> list[str]:
    ids = []
    for hub in fleet.hubs:
        assert hub.policy is not None and hub.clock is not None
        hub.policy.on_finding(Finding(type="help_call", severity=Severity.EMERGENCY, at=hub.clock.now(),
                                      key=f"help:{tag}", device=f"sos-{tag}", room="bedroom"))
        ids.append(next(a.id for a in hub.store.alerts(("open",)) if a.device == f"sos-{tag}"))
    return ids


def handled(workers: list[PlatformEmulator], ids: list[str]) -> Counter[str]:
    """How many workers received each alert."""
    return Counter(a["id"] for w in workers for a in list(w.alerts) if a["id"] in set(ids))


def test_each_alert_is_handled_by_exactly_one_worker_and_every_one_is_acknowledged():
    with Mosquitto() as broker:
        workers = [PlatformEmulator("127.0.0.1", broker.port, mode="ack", share_group=GROUP,
                                    client_id=f"platform-worker-{i}").start() for i in range(2)]
        try:
            asyncio.run(_scenario(broker.port, workers))
        finally:
            for w in workers:
                w.stop()


async def _scenario(port: int, workers: list[PlatformEmulator]) -> None:
    fleet = HubFleet(HUBS, "127.0.0.1", port, urgent_every=0)
    try:
        fleet.boot(boot_spread_s=0.0, jitter=True)
        assert await fleet.wait(lambda: fleet.connected() == HUBS, 20.0)

        first = raise_help_calls(fleet, "bed")
        assert await fleet.wait(lambda: all(a in h.acked_at for h, a in zip(fleet.hubs, first, strict=True)), 20.0)
        await asyncio.sleep(0.5)  # a second copy would have arrived by now
        counts = handled(workers, first)
        assert set(counts) == set(first) and set(counts.values()) == {1}, "each alert to exactly one worker"
        per_worker = [sum(1 for a in w.alerts if a["id"] in set(first)) for w in workers]
        assert all(n >= HUBS // 4 for n in per_worker), f"both workers share the load: {per_worker}"
        assert sorted(a for w in workers for a in w.acked & set(first)) == sorted(first), "each acknowledged once"

        # One worker goes away (a deploy, a crash): the group's other member gets everything.
        workers[0].stop()
        second = raise_help_calls(fleet, "bath")
        assert await fleet.wait(lambda: all(a in h.acked_at for h, a in zip(fleet.hubs, second, strict=True)), 20.0)
        counts = handled(workers[1:], second)
        assert set(counts) == set(second) and set(counts.values()) == {1}
    finally:
        fleet.stop()
