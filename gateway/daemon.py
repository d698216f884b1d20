"""The composition root: builds the hub from its config and runs it.

Start order matters for durability and for systemd: storage first (alerts left
by the previous run are resumed), then the uplink (so the outbox drains as soon
as the broker answers), then drivers; ``READY=1`` is sent only when all of
these are running. The watchdog is pinged from the event loop itself and only
while every critical task is alive, so a stuck loop or a dead task gets the
service restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from detection.events import Stamp
from drivers.rflink import RflinkDriver
from drivers.rflink.codec import Heard
from gateway import __version__
from gateway.activity import ActivityLog
from gateway.alerts import AlertPolicy
from gateway.alerts.payload import finalize
from gateway.clock import HubClock, synced_from_env
from gateway.components import hub_components
from gateway.config import Config, ConfigError, differences, save_atomic, secret_paths, to_data
from gateway.config.schema import PlatformConfig
from gateway.detectors import build_detectors
from gateway.learn import HeardCodes
from gateway.pipeline import (
    TICK_S,
    DeviceRegistry,
    DeviceState,
    EventBus,
    Pipeline,
    restore_baselines,
    save_baselines,
)
from gateway.platform_settings import platform_file_errors
from gateway.platform_switch import PlatformSwitch
from gateway.probe import probe_broker
from gateway.radar_probe import probe_port
from gateway.remote import MAINTENANCE_KEY, PlatformCommands
from gateway.reports import hub_health, hub_status, person_day
from gateway.sdnotify import Notifier, watchdog_loop
from gateway.store import AlertRow, open_store
from gateway.supervisor import Supervisor
from gateway.topics import Topics
from gateway.uplink import Uplink
from gateway.vitals_summary import DailyVitalsSender
from gateway.wearables import WearableDriver

if TYPE_CHECKING:
    from drivers.rtl433.codec import Heard as Rtl433Heard
    from drivers.zigbee2mqtt.codec import BridgeDevice
    from drivers.zigbee2mqtt.codec import Heard as ZigbeeHeard

log = structlog.get_logger("carehub.daemon")

POLICY_TICK_S = 0.5
VITALS_SUMMARY_S = 60.0  # how soon after midnight the day's vitals summary leaves
JOURNAL_FLUSH_S = 10.0
BASELINE_SAVE_S = 3600.0

# Keys whose change needs a restart of the process; everything else is applied live
# (the radio drivers and the uplink are restarted inside the running hub).
RESTART_KEYS = ("storage", "logging", "web")


class Hub:
    """The running hub, and the facade through which remote commands read state and change config."""

    def __init__(self, cfg: Config, config_path: Path) -> None:
        self.config = cfg
        self.config_path = config_path
        self.clock = HubClock(synced_from_env(os.environ))
        self.store, damaged = open_store(cfg.storage.path)
        if damaged is not None:
            # Alerts not yet delivered may be in the damaged file: say so loudly, then keep watching.
            log.critical("store.corrupt_replaced", error=str(damaged), kept_as=str(damaged.quarantined))
        self.topics = Topics.for_site(cfg.platform.base_topic, cfg.site.id)
        self.bus = EventBus()
        self.registry = DeviceRegistry()
        self.registry.configure(_device_states(cfg))
        self.uplink = self.make_uplink(cfg)
        # Through lambdas: the uplink is replaced when the technician changes the platform settings.
        self.policy = AlertPolicy(
            self.store, cfg.alerts, cfg.site.id, self.topics, self.clock,
            wake_uplink=lambda: self.uplink.wake(), on_change=self._alert_changed,
            fallback_publish=lambda topic, payload: self.uplink.publish_from_memory(topic, payload),
        )
        self.pipeline = Pipeline(
            self._build_detectors(cfg), self.on_finding, self.clock, self.store, self.bus, self.registry
        )
        self.vitals_summary = DailyVitalsSender(
            lambda: self.pipeline.detectors, self.store, lambda: self.topics.vitals_summary, cfg.site.id,
            self.clock, lambda: self.uplink.wake())
        self.supervisor = Supervisor()
        for spec in hub_components(self):
            self.supervisor.add(spec)
        self.state_dir = Path(cfg.storage.path).parent
        self.heard = HeardCodes()
        self.activity = ActivityLog()  # the page's timeline, fed from the journal (gateway/reports.py)
        self.web_counters: Callable[[], dict[str, int]] | None = None
        self.notifier = Notifier()
        self._stop = asyncio.Event()
        self._config_lock = asyncio.Lock()
        self._pruned_day = -1
        self.commands = PlatformCommands(self, self.state_dir)
        self.switch = PlatformSwitch(self, cfg)

    # --- building -------------------------------------------------------------

    def make_uplink(self, cfg: Config, *, standby: bool = False) -> Uplink:
        return Uplink(
            cfg.platform, Topics.for_site(cfg.platform.base_topic, cfg.site.id), self.store,
            client_id=cfg.platform.client_id or f"carehub-{cfg.site.id}",
            finalize=lambda p: finalize(p, boot_id=self.clock.boot_id,
                                        historical_after_s=self.config.alerts.historical_after_s),
            on_ack=self._on_ack,
            on_request=self.handle_request,
            on_connect=self._uplink_connected,
            health=self.health,
            standby=standby,
        )

    def _build_detectors(self, cfg: Config) -> list[Any]:
        detectors = build_detectors(cfg)
        restore_baselines(detectors, self.store)
        return detectors

    @property
    def rflink(self) -> RflinkDriver | None:
        return self.supervisor.get("rflink")  # type: ignore[return-value]

    @property
    def ble(self) -> WearableDriver | None:
        return self.supervisor.get("ble")  # type: ignore[return-value]

    # --- running --------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        if os.environ.get("CAREHUB_TEST_HOOKS") == "1":
            # Lets the systemd test prove that a blocked loop stops watchdog pings.
            loop.add_signal_handler(signal.SIGUSR2, lambda: time.sleep(20))

        self.policy.resume()
        sup = self.supervisor
        sup.spawn("uplink", self.uplink.run)
        sup.spawn("policy", self._every(POLICY_TICK_S, self._policy_tick))
        sup.spawn("ticks", self._every(TICK_S, self.pipeline.tick))
        sup.spawn("journal", self._every(JOURNAL_FLUSH_S, self._flush_and_prune))
        sup.spawn("baselines", self._every(BASELINE_SAVE_S, self.save_baselines))
        # At once too: a hub that was off over midnight sends the missed days now, not a minute later.
        sup.spawn("vitals_summary", self._every(VITALS_SUMMARY_S, self.vitals_summary.tick, at_start=True))
        sup.start(self.config)
        sup.spawn("watchdog", lambda: watchdog_loop(self.notifier, self.healthy))
        self.notifier.ready()
        self.notifier.status(f"site {self.config.site.id}: running")
        log.info("hub.ready", site=self.config.site.id, version=__version__, boot_id=self.clock.boot_id,
                 clock_synced=self.clock.synced, devices=len(self.registry.devices),
                 outbox_depth=self.store.outbox_depth())
        await self._stop.wait()

        log.info("hub.stopping")
        self.notifier.stopping()
        await self.switch.wait()
        # The uplink last, so that what the others do while stopping can still leave; it
        # may be missing (a switch of broker settings was under way), which must not stop
        # the journal and the baselines from being saved.
        uplink_task = (await self.supervisor.stop_all(last=("uplink",))).get("uplink")
        self.pipeline.flush_journal()
        self.save_baselines()
        await self.uplink.stop()
        if uplink_task is not None:
            uplink_task.cancel()
            await asyncio.gather(uplink_task, return_exceptions=True)
        self.store.close()
        log.info("hub.stopped")
        return 0

    def healthy(self) -> bool:
        return all(self.supervisor.running(name) for name in ("uplink", "policy", "ticks"))

    @staticmethod
    async def _every_impl(period: float, fn: Callable[[], None], at_start: bool = False) -> None:
        if at_start:
            fn()
        while True:
            await asyncio.sleep(period)
            fn()

    def _every(self, period: float, fn: Callable[[], None],
               at_start: bool = False) -> Callable[[], Coroutine[Any, Any, None]]:
        return lambda: self._every_impl(period, fn, at_start)

    def _policy_tick(self) -> None:
        # A request's press pattern is decided first, so that the policy hears it in this turn.
        self.pipeline.poll()
        self.policy.tick()

    def _flush_and_prune(self) -> None:
        self.pipeline.flush_journal()
        day = int(time.time() // 86400)
        if self._pruned_day != day:
            self._pruned_day = day
            self.store.journal_prune(time.time() - self.config.storage.journal_days * 86400)

    def save_baselines(self) -> None:
        save_baselines(self.pipeline, self.store)

    # --- events ---------------------------------------------------------------

    def on_finding(self, finding: Any) -> None:
        self.policy.on_finding(finding)
        if finding.type == "device_offline" and finding.device:
            online = finding.state.value != "raised"
            self._set_availability(finding.device, online)

    def _on_ack(self, alert_id: str, by: str | None) -> None:
        self.policy.on_platform_ack(alert_id, by)

    def _alert_changed(self, event: dict[str, Any]) -> None:
        self.bus.publish({"wall": time.time(), "kind": "alert", "device": None, "room": None,
                          "text": f"alert {event['alert_id'][:8]}: {event['state']} ({event['text']})",
                          "alert_id": event["alert_id"], "state": event["state"]})

    def _set_availability(self, device: str, online: bool) -> None:
        state = self.registry.devices.get(device)
        if state is not None:
            state.online = online
        self.uplink.publish_state(self.topics.availability(device), b"online" if online else b"offline")

    def _uplink_connected(self) -> None:
        self._publish_availability()
        # The broker may have lost what it accepted, or the platform's acknowledgement
        # may have been lost while the hub was away: every open alert goes again.
        self.policy.resend_open()

    def _publish_availability(self) -> None:
        for dev in self.registry.devices.values():
            self.uplink.publish_state(self.topics.availability(dev.id),
                                      b"offline" if dev.online is False else b"online")

    # --- state and remote commands --------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the page and the platform's ``status`` command show (gateway/reports.py)."""
        return hub_status(self)

    def day_view(self) -> dict[str, Any]:
        """The person's day and week for the status page (gateway/reports.py: person_day)."""
        return person_day(self)

    def health(self) -> dict[str, Any]:
        """The periodic health message to the platform (gateway/reports.py)."""
        return hub_health(self)

    async def send_test_alarm(self, actor: str) -> str:
        return self.policy.raise_test(actor)

    async def apply_config(self, new: Config, actor: str) -> list[str]:
        # One change at a time (the page and the platform may both send one), and the fsyncs
        # off the loop: an SD card can take tens of milliseconds, and a help call must not wait.
        async with self._config_lock:
            return await self._apply_config(new, actor)

    async def _apply_config(self, new: Config, actor: str) -> list[str]:
        old = self.config
        if new.platform != old.platform:
            # Checked before saving: a file that names an unreadable CA would otherwise be
            # saved, and would cut the hub off at the next start.
            errors = await asyncio.to_thread(platform_file_errors, new.platform)
            if errors:
                raise ConfigError(errors)
        await asyncio.to_thread(save_atomic, new, self.config_path)
        self.config = new
        changed = [path for path, _, _ in differences(to_data(old), to_data(new))]
        restart = sorted({p for p in changed if any(p == k or p.startswith(k + ".") for k in RESTART_KEYS)})
        # Live: device lists, detection settings, alert policy; components whose settings changed
        # are rebuilt by the supervisor, the uplink is switched over below.
        self.registry.configure(_device_states(new))
        await self.supervisor.apply(old, new)
        if (old.detection, old.devices, old.wearables, old.radars, old.zigbee_devices, old.rtl433_devices,
                old.buttons) != (new.detection, new.devices, new.wearables, new.radars, new.zigbee_devices,
                                 new.rtl433_devices, new.buttons):
            # Every input of build_detectors: a button's press map lives in its device's entry.
            self.save_baselines()
            self.pipeline.detectors = self._build_detectors(new)
        self.policy.cfg = new.alerts
        secrets = secret_paths()
        log.info("config.applied", by=actor, changed=[p for p in changed if p not in secrets],
                 restart_required=restart)
        if old.platform != new.platform or old.site != new.site:
            # Last, and in a task of its own: the change may have come over the very uplink
            # being replaced (the platform's set_config), whose request tasks die with it.
            # Its answer is queued before this task first runs.
            self.switch.schedule()
        return restart

    # --- for the technician's page ----------------------------------------------

    def on_heard(self, heard: Heard | Rtl433Heard | ZigbeeHeard, at: Stamp) -> None:
        self.heard.add(heard, self.clock.utc_of(at))

    def on_bridge_devices(self, devices: list[BridgeDevice]) -> None:
        self.heard.set_bridge_devices(devices)

    async def probe_radar(self, port: str) -> dict[str, Any]:
        return await asyncio.to_thread(probe_port, self.config, port)  # opens a serial port for seconds

    def heard_codes(self, after: int) -> list[dict[str, Any]]:
        return self.heard.since(after)

    def recent_events(self) -> list[dict[str, Any]]:
        return list(self.bus.recent)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        return self.bus.subscribe()

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self.bus.unsubscribe(q)

    async def scan_wearables(self, seconds: float) -> list[dict[str, Any]]:
        """Bluetooth devices advertising now, strongest first (the installer's "scan")."""
        if self.ble is None:
            raise RuntimeError("Bluetooth is switched off in the settings (ble.enabled)")
        if self.ble.radio_problem:
            raise RuntimeError(self.ble.radio_problem)
        since = self.clock.now().t
        await asyncio.sleep(seconds)
        return [{"address": a.address, "name": a.name, "rssi": a.rssi} for a in self.ble.heard_since(since)]

    def alert(self, alert_id: str) -> AlertRow | None:
        return self.store.get_alert(alert_id)

    async def probe_platform(self, platform: PlatformConfig) -> tuple[bool, str]:
        return await probe_broker(platform)

    async def handle_request(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """Remote commands from the platform (``request/<cmd>`` -> ``response/<cmd>``)."""
        return await self.commands.handle(command, body)

    def uptime_s(self) -> float:
        return self.clock.uptime_s()

    def set_maintenance(self, entry: dict[str, Any] | None) -> None:
        """Record (or with None, end) a maintenance change from the platform; the page shows it."""
        if entry is None:
            self.store.kv_delete(MAINTENANCE_KEY)
        else:
            self.store.kv_set(MAINTENANCE_KEY, json.dumps(entry))
        log.warning("platform.maintenance", entry=entry)

    def maintenance(self) -> dict[str, Any] | None:
        raw = self.store.kv_get(MAINTENANCE_KEY)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None


def _device_states(cfg: Config) -> list[DeviceState]:
    states = [DeviceState(d.id, d.kind, d.room, d.name) for d in cfg.devices]
    states += [DeviceState(w.id, f"wearable:{w.profile}", None, w.name) for w in cfg.wearables]
    states += [DeviceState(r.id, f"radar:{r.model}", r.room, r.name) for r in cfg.radars]
    states += [DeviceState(z.id, f"zigbee:{z.kind}", z.room, z.name) for z in cfg.zigbee_devices]
    states += [DeviceState(d.id, f"rtl433:{d.kind}", d.room, d.name) for d in cfg.rtl433_devices]
    return states



async def run_hub(cfg: Config, config_path: Path) -> int:
    hub = Hub(cfg, config_path)
    with contextlib.suppress(asyncio.CancelledError):
        return await hub.run()
    return 0
