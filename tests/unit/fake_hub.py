"""The running hub as the technician's page sees it (``gateway.web.core.HubView``), and no more.

``FakeHub`` keeps a ``Config`` and saves it the way the hub does (``save_atomic``,
restart-required paths from the daemon's own ``RESTART_KEYS``), records what the
page asked of it, and answers with data the tests set: no store, detectors,
radios or uplink are built. Its answers are made with the hub's own parts where
they are plain data (``HeardCodes``, ``EventBus``, ``DeviceRegistry``, ``AlertRow``)
and in the shape of ``Hub.status()``;
``test_web.py::test_the_fake_hub_answers_in_the_real_hub_s_shape`` compares the two,
so a key the real hub gains or loses shows up there before a template trusts the fake.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.rflink.codec import Heard
from drivers.rtl433.codec import Heard as Rtl433Heard
from drivers.zigbee2mqtt.codec import BridgeDevice
from drivers.zigbee2mqtt.codec import Heard as ZigbeeHeard
from gateway import __version__
from gateway.activity import ActivityLog, last_sign_of
from gateway.alerts.states import AlertState
from gateway.config import Config, ConfigError, differences, save_atomic, to_data
from gateway.config.schema import PlatformConfig
from gateway.daemon import RESTART_KEYS
from gateway.learn import HeardCodes
from gateway.pipeline import DeviceRegistry, DeviceState, EventBus
from gateway.platform_settings import platform_file_errors
from gateway.probe import PROBE_NO_CONNECT
from gateway.records import OPEN_STATES, AlertRow

if TYPE_CHECKING:
    from gateway.web.core import HubView


class FakeHub:
    """What the page reads, set by the test; what the page asks for, recorded for the test."""

    def __init__(self, config: Config, config_path: Path) -> None:
        self.config = config
        self.config_path = config_path
        self.state_dir = Path(config.storage.path).parent  # as the hub: the page's files sit by the database
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.heard = HeardCodes()
        self.bus = EventBus()
        self.registry = DeviceRegistry()
        self.vitals: dict[str, Any] | None = None
        self.registry.configure(_device_states(config))
        self.alerts: dict[str, AlertRow] = {}
        # What the status page shows beyond the configuration.
        self.connected = False
        self.outbox_depth = 0
        self.clock_synced = False
        self.rflink_connected = False
        self.ble_problem: str | None = None
        self.platform_switch: dict[str, Any] | None = None
        self.home_learning: dict[str, Any] | None = {"days_learned": 0.0, "learning": True, "wake_ups_learned": 0,
                                                     "contexts": []}
        self._maintenance: dict[str, Any] | None = None
        # The person's day: journal rows the test adds, and what the home monitor would explain.
        self.activity = ActivityLog()
        self.timeline_alerts: list[dict[str, Any]] = []
        self.monitor: dict[str, Any] | None = None  # detection.home.explain.now_view's shape
        # Answers to the page's questions.
        self.scan_result: list[dict[str, Any]] = []
        self.probe_answer: tuple[bool, str] = (False, PROBE_NO_CONNECT)  # nothing listens in a unit test
        # What the page asked for, in order.
        self.applied: list[tuple[Config, str]] = []
        self.test_alarms: list[tuple[str, str]] = []  # (actor, alert id)
        self.maintenance_set: list[dict[str, Any] | None] = []
        self.probed: list[PlatformConfig] = []
        self.scans: list[float] = []
        self.radar_answer: dict[str, Any] = {"model": None, "frames": 0, "error": None, "problem": None}
        self.radar_probes: list[str] = []

    # --- for the test -----------------------------------------------------------

    def hear(self, heard: Heard | Rtl433Heard | ZigbeeHeard, wall: float | None = None) -> None:
        """A radio code or message heard, as the RFLink, rtl_433 or Zigbee2MQTT driver reports it to the real hub."""
        self.heard.add(heard, time.time() if wall is None else wall)

    def pair_zigbee(self, devices: list[BridgeDevice]) -> None:
        """Zigbee2MQTT's device list, as its driver hands it to the real hub."""
        self.heard.set_bridge_devices(devices)

    def maintenance(self) -> dict[str, Any] | None:
        return self._maintenance

    # --- HubView ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        cfg = self.config
        p = cfg.platform
        return {
            "platform": {"connected": self.connected, "broker": f"{'mqtts' if p.tls else 'mqtt'}://{p.host}:{p.port}",
                         "last_ack_wall": None, "last_connect_wall": None, "outbox_depth": self.outbox_depth,
                         "in_flight": 0, "problem": None, "counters": {}, "boot_spread_remaining_s": None},
            "clock": {"synced": self.clock_synced, "wall": time.time()},
            "devices": self.registry.as_list(),
            "open_alerts": [
                {"id": a.id, "type": a.type, "severity": a.severity, "room": a.room, "device": a.device,
                 "raised_wall": a.raised_wall, "level": a.level, "state": a.state}
                for a in self.alerts.values() if a.state in OPEN_STATES and a.type != "call_request"
            ],
            "open_requests": [
                {"id": a.id, "service": a.evidence.get("service"), "device": a.device, "room": a.room,
                 "requested_wall": a.detected_wall, "requests": int(a.evidence.get("requests", 1))}
                for a in self.alerts.values() if a.state in OPEN_STATES and a.type == "call_request"
            ],
            "hub": {"site_id": cfg.site.id, "uptime_s": 0.0, "version": __version__},
            "rflink": {"port": cfg.rflink.port, "connected": self.rflink_connected, "banner": {}, "counters": {}}
            if cfg.rflink.enabled else None,
            "ble": {"radio_problem": self.ble_problem} if cfg.ble.enabled else None,
            "maintenance": self.maintenance(),
            "platform_switch": self.platform_switch,
            "home_learning": self.home_learning if cfg.detection.home.enabled else None,
            "vitals": self.vitals,  # the real hub's: gateway.vitals_summary.vitals_view
            "second_path": None,  # the real hub's without [second_path]; see test_second_path_page.py
        }

    def recent_events(self) -> list[dict[str, Any]]:
        return list(self.bus.recent)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        return self.bus.subscribe()

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self.bus.unsubscribe(q)

    def heard_codes(self, after: int) -> list[dict[str, Any]]:
        return self.heard.since(after)

    async def scan_wearables(self, seconds: float) -> list[dict[str, Any]]:
        self.scans.append(seconds)  # not waited: the answer is the test's
        if not self.config.ble.enabled:
            raise RuntimeError("Bluetooth is switched off in the settings (ble.enabled)")
        if self.ble_problem:
            raise RuntimeError(self.ble_problem)
        return [dict(found) for found in self.scan_result]

    async def apply_config(self, new: Config, actor: str) -> list[str]:
        # The same refusal as the hub's: TLS files that cannot be loaded are not saved.
        if new.platform != self.config.platform:
            errors = platform_file_errors(new.platform)
            if errors:
                raise ConfigError(errors)
        save_atomic(new, self.config_path)
        old, self.config = self.config, new
        self.registry.configure(_device_states(new))
        self.applied.append((new, actor))
        changed = [path for path, _, _ in differences(to_data(old), to_data(new))]
        return sorted({p for p in changed if any(p == k or p.startswith(k + ".") for k in RESTART_KEYS)})

    async def send_test_alarm(self, actor: str) -> str:
        now = time.time()
        row = AlertRow(id=str(uuid.uuid4()), seq=len(self.alerts) + 1, type="test", severity="info",
                       state=AlertState.OPEN.value,
                       finding_key=f"test:{uuid.uuid4().hex}", device=None, room=None, level=0, test=True,
                       boot_id="fake", detected_wall=now, raised_wall=now, clock_synced=self.clock_synced,
                       evidence={"requested_by": actor}, first_published_wall=None, acked_wall=None, acked_by=None,
                       closed_reason=None, last_sent_wall=now)
        self.alerts[row.id] = row
        self.test_alarms.append((actor, row.id))
        return row.id

    def alert(self, alert_id: str) -> AlertRow | None:
        return self.alerts.get(alert_id)

    async def probe_platform(self, platform: PlatformConfig) -> tuple[bool, str]:
        self.probed.append(platform)
        return self.probe_answer

    async def probe_radar(self, port: str) -> dict[str, Any]:
        self.radar_probes.append(port)
        return dict(self.radar_answer)

    def set_maintenance(self, entry: dict[str, Any] | None) -> None:
        self.maintenance_set.append(entry)
        self._maintenance = entry

    def day_view(self) -> dict[str, Any]:
        # The real hub's shape (gateway.reports.person_day) from what the test set.
        now = time.time()
        log = self.activity
        return {"wall": now, "last_sign": last_sign_of(self.monitor, log, now), "out_since": log.out_now(now),
                "monitor": self.monitor,
                "timeline": log.days(now, self.timeline_alerts)}


def _device_states(cfg: Config) -> list[DeviceState]:
    states = [DeviceState(d.id, d.kind, d.room, d.name) for d in cfg.devices]
    states += [DeviceState(w.id, f"wearable:{w.profile}", None, w.name) for w in cfg.wearables]
    return states


if TYPE_CHECKING:
    # mypy holds the fake to the protocol member for member: a method the page gains is missing here.
    _view: HubView = FakeHub(Config(), Path())
