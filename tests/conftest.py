"""Shared fixtures: real mosquitto, a pty RFLink gateway, the platform emulator, the daemon.

Integration tests use real parts (a broker on a free loopback port, pseudo-
terminals, the daemon as its own process); only unit tests mock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from simulators.broker import Mosquitto
from simulators.platform import PlatformEmulator
from simulators.rflink import RadioCode, RflinkEmulator

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# The radio codes the integration tests' config lists.
DEVICES = [
    {"id": "sos-bed", "protocol": "EV1527", "address": "0a1b2c", "switch": "01", "kind": "sos",
     "room": "bedroom"},
    {"id": "pir-living", "protocol": "EV1527", "address": "0c0001", "kind": "pir", "room": "living"},
    {"id": "pir-bathroom", "protocol": "EV1527", "address": "0c0002", "kind": "pir", "room": "bathroom"},
    {"id": "door-entrance", "protocol": "Kaku", "address": "41", "switch": "1", "kind": "door",
     "room": "entrance"},
]
CODES = {d["id"]: RadioCode(d["protocol"], d["address"], d.get("switch", "")) for d in DEVICES}


def shared_data(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"development data {path} is absent (it lives beside the repo in ../shared/data)")
    return path


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.fail("mosquitto is not installed: run the README's test command, which installs it")
    with Mosquitto() as broker:
        yield broker


@pytest.fixture
def rflink(tmp_path: Path) -> Iterator[RflinkEmulator]:
    emu = RflinkEmulator(tmp_path / "serial-by-id-rflink").start()
    yield emu
    emu.stop()


@pytest.fixture
def platform(mosquitto: Mosquitto) -> Iterator[PlatformEmulator]:
    with PlatformEmulator("127.0.0.1", mosquitto.port) as p:
        yield p


def hub_config(tmp_path: Path, broker_port: int, rflink_link: Path | None, **overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "site": {"id": "test-site"},
        "platform": {"host": "127.0.0.1", "port": broker_port, "reconnect_min_s": 0.2,
                     "reconnect_max_s": 1.0, "health_interval_s": 5.0},
        "alerts": {"ack_timeout_s": 60.0},
        "storage": {"path": str(tmp_path / "state" / "carehub.db")},
        "rflink": {"enabled": rflink_link is not None, "port": str(rflink_link or "/nonexistent"),
                   "reopen_min_s": 0.1, "reopen_max_s": 0.5},
        "web": {"enabled": False},
        "logging": {"level": "debug"},
        "devices": DEVICES,
    }
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(cfg.get(section), dict):
            cfg[section] = {**cfg[section], **values}
        else:
            cfg[section] = values
    return cfg


class Daemon:
    """``carehub run`` as its own process, with its JSON log lines readable by tests."""

    def __init__(self, config: dict[str, Any], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.config_path = workdir / "carehub.toml"
        self.config_path.write_text(tomli_w.dumps(config))
        self.rflink_enabled = bool(config.get("rflink", {}).get("enabled"))
        self._starts = 0
        # One log per Daemon object: a restarted hub in the same test must not see its predecessor's events.
        self.log_path = workdir / f"daemon-{id(self)}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._read_pos = 0
        self.events: list[dict[str, Any]] = []

    def start(self, wait_ready: bool = True) -> Daemon:
        self._starts += 1
        self._log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(self.config_path),
             "--log-format", "json"],
            stdout=self._log_file, stderr=subprocess.STDOUT, env=self.env, cwd=REPO,
        )
        if wait_ready:
            self.wait_event("hub.ready", timeout=20)
            if self.rflink_enabled:
                # READY means the driver task started; a frame is only read once the port is open.
                self.wait_event("rflink.opened", timeout=10, nth=self._starts)
        return self

    def _read(self) -> None:
        with self.log_path.open("rb") as f:
            f.seek(self._read_pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self._read_pos += end
        for line in data[:end].splitlines():
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"event": "<non-json>", "text": line.decode(errors="replace")})

    def wait_event(self, name: str, timeout: float = 10.0,
                   where: Callable[[dict[str, Any]], bool] | None = None, nth: int = 1) -> dict[str, Any]:
        """The ``nth`` log event called ``name`` (matching ``where``), waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while True:
            self._read()
            hits = [ev for ev in self.events if ev.get("event") == name and (where is None or where(ev))]
            if len(hits) >= nth:
                return hits[nth - 1]
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}) before {name}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name!r} in the daemon log within {timeout} s:\n{self.tail()}")
            time.sleep(0.05)

    def find(self, name: str) -> list[dict[str, Any]]:
        self._read()
        return [e for e in self.events if e.get("event") == name]

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            if self._log_file:
                self._log_file.close()


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(config: dict[str, Any], env: dict[str, str] | None = None) -> Daemon:
        d = Daemon(config, tmp_path, env)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
