"""Many hubs in one process, for the fleet simulation (``carehub sim fleet``, docs/fleet.md).

Each simulated hub is the real hub from the alert policy to the socket: its own
store (the real ``Store`` on SQLite in memory: the object outlives the simulated
power cut, as the SD card does), the real ``AlertPolicy`` raising alerts into
its outbox, and the real ``Uplink`` publishing them, with the boot spread, the
backoff and the persistent session of a hub in a home. Only the radios, the
detectors and the web page are left out. A power cut drops every connection
without a word (the broker publishes the last wills) and stops every hub; the
restore boots them all in the same instant, with a new clock and a new boot id,
over the stores they had.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from detection.events import Finding, Severity
from gateway.alerts.payload import finalize
from gateway.alerts.policy import AlertPolicy
from gateway.clock import HubClock
from gateway.config.schema import AlertConfig, PlatformConfig
from gateway.store import Store
from gateway.topics import Topics
from gateway.uplink import Uplink


@dataclass
class FleetHub:
    site: str
    store: Store
    urgent: bool  # has an emergency waiting after the cut (it must skip the boot spread)
    clock: HubClock | None = None
    policy: AlertPolicy | None = None
    uplink: Uplink | None = None
    task: asyncio.Task[None] | None = None
    booted_at: float = 0.0  # monotonic time this hub's uplink was started, in its latest boot
    connected_at: list[float] = field(default_factory=list)  # monotonic time of each accepted connection
    acked_at: dict[str, float] = field(default_factory=dict)  # alert id -> first acknowledgement heard
    queued: list[str] = field(default_factory=list)  # alert ids waiting in the outbox at the restore
    help_id: str | None = None  # the help call among them, on an ``urgent`` hub


class HubFleet:
    """``hubs`` hubs with site ids ``<prefix>00000``..., one in every ``urgent_every`` with an emergency."""

    def __init__(self, hubs: int, host: str, port: int, *, prefix: str = "fleet-", urgent_every: int = 100,
                 base_topic: str = "carehub/v1", reconnect_min_s: float = 1.0, reconnect_max_s: float = 60.0) -> None:
        self.base_topic = base_topic
        self.platform = PlatformConfig(host=host, port=port, keepalive_s=60, reconnect_min_s=reconnect_min_s,
                                       reconnect_max_s=reconnect_max_s)
        self.hubs = [FleetHub(f"{prefix}{i:05d}", Store(":memory:"), urgent=urgent_every > 0 and i % urgent_every == 0)
                     for i in range(hubs)]
        self.alerts = AlertConfig()

    # --- the hubs' lives ------------------------------------------------------------------------

    def boot(self, *, boot_spread_s: float, jitter: bool) -> float:
        """Power on every hub at once; returns the monotonic time of the boot."""
        cfg = replace(self.platform, boot_spread_s=boot_spread_s)
        at = time.monotonic()
        for hub in self.hubs:
            self._boot(hub, cfg, jitter)
        return at

    def _boot(self, hub: FleetHub, cfg: PlatformConfig, jitter: bool) -> None:
        topics = Topics.for_site(self.base_topic, hub.site)
        clock = HubClock(lambda: True)
        policy = AlertPolicy(hub.store, self.alerts, hub.site, topics, clock, wake_uplink=lambda: self._wake(hub))
        policy.resume()

        def connected() -> None:
            hub.connected_at.append(time.monotonic())
            policy.resend_open()  # as the daemon does on every connect

        def acked(alert_id: str, by: str | None) -> None:
            hub.acked_at.setdefault(alert_id, time.monotonic())
            policy.on_platform_ack(alert_id, by)

        boot_id = clock.boot_id
        uplink = Uplink(cfg, topics, hub.store, client_id=f"carehub-{hub.site}",
                        finalize=lambda p: finalize(p, boot_id=boot_id, historical_after_s=30.0),
                        on_ack=acked, on_connect=connected,
                        uptime=lambda: 5.0,  # every hub has just booted
                        backoff_jitter=jitter)
        hub.clock, hub.policy, hub.uplink = clock, policy, uplink
        hub.booted_at = time.monotonic()
        hub.task = asyncio.create_task(uplink.run(), name=f"uplink-{hub.site}")

    @staticmethod
    def _wake(hub: FleetHub) -> None:
        if hub.uplink is not None:
            hub.uplink.wake()

    async def cut_power(self) -> None:
        """Every hub loses its power in the same instant: no goodbye, no last word from any of them."""
        for hub in self.hubs:
            if hub.uplink is not None:
                hub.uplink.cut_power()
            if hub.task is not None:
                hub.task.cancel()
        await asyncio.gather(*(h.task for h in self.hubs if h.task is not None), return_exceptions=True)
        for hub in self.hubs:
            hub.task = hub.uplink = None

    def queue_alerts(self) -> int:
        """What each hub raised on its last battery minutes: a sensor gone silent (technical) everywhere,
        a help call where ``urgent``; they wait in the outbox for the power to come back."""
        for hub in self.hubs:
            assert hub.policy is not None and hub.clock is not None
            at = hub.clock.now()
            hub.policy.on_finding(Finding(type="device_offline", severity=Severity.TECHNICAL, at=at,
                                          key="device_offline:pir-hall", device="pir-hall", room="hall"))
            if hub.urgent:
                hub.policy.on_finding(Finding(type="help_call", severity=Severity.EMERGENCY, at=at,
                                              key="help:sos-bed", device="sos-bed", room="bedroom",
                                              evidence={"button": "sos-bed", "presses": 1}))
                hub.help_id = next(a.id for a in hub.store.alerts(("open",)) if a.type == "help_call")
            hub.queued = sorted(hub.store.outbox_alert_ids())
        return sum(len(h.queued) for h in self.hubs)

    # --- what happened ---------------------------------------------------------------------------

    def connected(self) -> int:
        return sum(1 for h in self.hubs if h.uplink is not None and h.uplink.connected)

    def all_acked(self, which: Callable[[FleetHub], bool] = lambda h: True) -> bool:
        return all(a in h.acked_at for h in self.hubs if which(h) for a in h.queued)

    async def wait(self, done: Callable[[], bool], timeout_s: float, step_s: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(step_s)
        return True

    def stop(self) -> None:
        for hub in self.hubs:
            if hub.uplink is not None:
                hub.uplink.cut_power()
            if hub.task is not None:
                hub.task.cancel()
            hub.store.close()
