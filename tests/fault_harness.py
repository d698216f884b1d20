"""Help presses under faults, and the per-press account of what reached the platform.

Used by tests/integration/test_faults.py. Real parts only: the daemon as its own
process (``Daemon``), a persistent mosquitto that can be SIGKILLed, an RFLink
gateway on a pty that can be unplugged, and the platform emulator in ``every``
mode (it acknowledges every open message within milliseconds, repeats too).

Each press comes from a button of its own (``sos-000``, ``sos-001``...), so a
press, its finding key and its alert are one-to-one and nothing is folded or
escalated for being "pressed again". Which presses the hub *heard* is taken
from the hub itself, never guessed from timing: an alert row for the button in
the database, or an ``alert.stored`` / storage-failure line in a daemon log.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli_w

from simulators.broker import Mosquitto
from simulators.platform import PlatformEmulator
from simulators.rflink import RadioCode, RflinkEmulator
from tests.conftest import Daemon, hub_config

DELIVERY_LIMIT_S = 10.0
# Short enough that an acknowledged alert escalated again shows within the test, long
# enough (> DELIVERY_LIMIT_S) that escalation cannot pass for a timely re-send.
ACK_TIMEOUT_S = 11.0


def sos_devices(n: int) -> list[dict[str, Any]]:
    return [{"id": f"sos-{i:03d}", "protocol": "EV1527", "address": f"5{i:05x}", "switch": "01",
             "kind": "sos", "room": "bedroom"} for i in range(n)]


@dataclass
class Press:
    device: str
    wall: float  # when the radio sent it
    sent: bool  # False: the radio was unplugged, nothing went out
    note: str = ""


@dataclass
class Tally:
    """What happened to every press the hub heard."""

    heard: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: dict[str, list[str]] = field(default_factory=dict)  # button -> alert ids (one press, many ids)
    seq_repeats: dict[int, list[str]] = field(default_factory=dict)  # seq -> distinct alert ids
    escalated_after_ack: dict[str, list[int]] = field(default_factory=dict)  # id -> levels sent after its ack
    late: dict[str, float] = field(default_factory=dict)  # button -> seconds from heard to the platform
    notes: dict[str, str] = field(default_factory=dict)  # button -> what was happening at the press
    device_of: dict[str, str] = field(default_factory=dict)  # alert id -> button

    def problems(self) -> list[str]:
        out = []
        for dev in self.lost:
            out.append(f"lost: {dev} ({self.notes.get(dev, '')})")
        for dev, ids in self.duplicated.items():
            out.append(f"duplicated: {dev} has alert ids {ids} ({self.notes.get(dev, '')})")
        for seq, ids in self.seq_repeats.items():
            out.append(f"seq repeat: seq {seq} on alerts {ids} (buttons "
                       + ", ".join(f"{self.device_of.get(i)}: {self.notes.get(self.device_of.get(i, ''), '')}"
                                   for i in ids) + ")")
        for alert_id, levels in self.escalated_after_ack.items():
            dev = self.device_of.get(alert_id, "")
            out.append(f"escalated after its acknowledgement: {alert_id} ({dev}: {self.notes.get(dev, '')}) "
                       f"re-sent at levels {levels}")
        for dev, s in self.late.items():
            out.append(f"late: {dev} reached the platform {s:.1f} s after it was heard ({self.notes.get(dev, '')})")
        return out

    def summary(self) -> str:
        return (f"heard {self.heard}, delivered {self.delivered}, lost {len(self.lost)}, "
                f"duplicated {len(self.duplicated)}, seq repeats {len(self.seq_repeats)}, "
                f"escalated after ack {len(self.escalated_after_ack)}, late {len(self.late)}")


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class FaultRun:
    """One site: broker, radio, platform, and the daemons started one after another on the same state."""

    def __init__(self, tmp_path: Path, make_daemon: Callable[..., Daemon], *, seed: int, buttons: int,
                 ack_delay_s: float = 0.0, platform_mode: str = "every", **overrides: Any) -> None:
        self.rng = random.Random(seed)
        self.tmp_path = tmp_path
        self.make_daemon = make_daemon
        self.broker = Mosquitto(persistent=True).start()
        self.rflink = RflinkEmulator(tmp_path / "serial-by-id-rflink").start()
        self.platform = PlatformEmulator("127.0.0.1", self.broker.port, mode=platform_mode, persistent=True,
                                          delay_s=ack_delay_s).start()
        devices = sos_devices(buttons)
        self.codes = {d["id"]: RadioCode(d["protocol"], d["address"], d["switch"]) for d in devices}
        alerts = {"ack_timeout_s": ACK_TIMEOUT_S, **overrides.pop("alerts", {})}
        overrides.setdefault("logging", {"level": "info"})
        self.cfg = hub_config(tmp_path, self.broker.port, self.rflink.link, devices=devices, alerts=alerts,
                              **overrides)
        self.daemons: list[Daemon] = []
        self.presses: list[Press] = []
        self._unused = [d["id"] for d in devices]
        # The platform emulator stamps receipts with the monotonic clock of this process.
        self._mono_to_wall = time.time() - time.monotonic()

    # --- the hub ----------------------------------------------------------------

    @property
    def hub(self) -> Daemon:
        return self.daemons[-1]

    def start_hub(self, config_path: Path | None = None, **kwargs: Any) -> Daemon:
        """A new daemon on the same state; ``config_path``: its config there (written if missing)."""
        d = self.make_daemon(self.cfg)
        if config_path is not None:
            d.config_path = config_path
            if not config_path.exists():
                config_path.write_text(tomli_w.dumps(self.cfg))
        self.daemons.append(d)
        return d.start(**kwargs)

    def wait_online(self, timeout: float = 15.0) -> None:
        """The hub connected, and the platform has heard it say so."""
        self.hub.wait_event("uplink.connected", timeout=timeout)
        assert self.platform.wait_for(lambda p: any(s.payload == b"online" for s in p.statuses),
                                      timeout=timeout), self.hub.tail()

    # --- presses ----------------------------------------------------------------

    def press(self, note: str = "") -> Press:
        device = self._unused.pop(0)
        wall = time.time()
        try:
            self.rflink.frame(self.codes[device], "ON", repeats=2)
            sent = True
        except RuntimeError:  # unplugged
            sent = False
        p = Press(device, wall, sent, note)
        self.presses.append(p)
        return p

    def burst(self, n: int, gap_s: tuple[float, float], note: str = "",
              at: dict[int, Callable[[], None]] | None = None) -> None:
        """``n`` presses ``gap_s`` apart (random in the range); ``at[i]`` runs right after press ``i``."""
        for i in range(n):
            self.press(note)
            if at and i in at:
                at[i]()
            else:
                time.sleep(self.rng.uniform(*gap_s))

    # --- the account --------------------------------------------------------------

    def settle(self) -> None:
        """Long enough for every re-send, and for any escalation of an acknowledged alert to show."""
        time.sleep(ACK_TIMEOUT_S + 1.5)  # escalations are checked every 0.5 s

    def heard(self) -> dict[str, tuple[set[str], float | None]]:
        """Button -> (alert ids the hub stored for it, wall time it was first heard if logged)."""
        out: dict[str, tuple[set[str], float | None]] = {}
        for d in self.daemons:
            for ev in d.find("alert.stored"):
                if ev.get("type") != "help_call" or not ev.get("device"):
                    continue
                ids, first = out.setdefault(ev["device"], (set(), None))
                ids.add(ev["id"])
                when = _wall(ev["timestamp"]) if "timestamp" in ev else None
                if when is not None and (first is None or when < first):
                    out[ev["device"]] = (ids, when)
        db = Path(self.cfg["storage"]["path"])
        if db.exists():
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                for alert_id, device in con.execute("SELECT id, device FROM alerts WHERE type='help_call'"):
                    ids, first = out.setdefault(device, (set(), None))
                    ids.add(alert_id)
            finally:
                con.close()
        return out

    def account(self, also_heard: dict[str, str] | None = None) -> Tally:
        """Stop the hub, then count. ``also_heard``: alert id -> button for alerts the hub could only
        log (storage failed), so that they count as heard too."""
        self.hub.stop()
        heard = self.heard()
        for alert_id, device in (also_heard or {}).items():
            heard.setdefault(device, (set(), None))[0].add(alert_id)
        by_press = {p.device: p for p in self.presses}
        alerts = [a for a in self.platform.alerts if a.get("type") == "help_call"]
        ids_of: dict[str, set[str]] = defaultdict(set)
        first_at: dict[str, float] = {}
        seqs: dict[int, set[str]] = defaultdict(set)
        for a in alerts:
            ids_of[a["device"]].add(a["id"])
            seqs[a["seq"]].add(a["id"])
            at = a["_received"] + self._mono_to_wall
            first_at[a["device"]] = min(first_at.get(a["device"], at), at)
        t = Tally(heard=len(heard))
        t.notes = {p.device: p.note for p in self.presses}
        t.device_of = {a["id"]: a["device"] for a in alerts}
        for device, (ids, first_heard) in heard.items():
            got = ids_of.get(device, set())
            if not got:
                t.lost.append(device)
                continue
            t.delivered += 1
            if len(got | ids) > 1:
                t.duplicated[device] = sorted(got | ids)
            start = first_heard if first_heard is not None else by_press[device].wall
            latency = first_at[device] - start
            if latency > DELIVERY_LIMIT_S:
                t.late[device] = latency
        t.seq_repeats = {seq: sorted(ids) for seq, ids in seqs.items() if len(ids) > 1}
        first_ack: dict[str, tuple[int, float]] = {}
        for alert_id, level, at in self.platform.acks:
            first_ack.setdefault(alert_id, (level, at))
        for a in alerts:
            ack = first_ack.get(a["id"])
            if ack is not None and a["_received"] > ack[1] and a.get("level", 0) > ack[0]:
                t.escalated_after_ack.setdefault(a["id"], []).append(a["level"])
        return t

    def close(self) -> None:
        for d in self.daemons:
            d.stop()
        self.platform.stop()
        self.rflink.stop()
        self.broker.stop()
