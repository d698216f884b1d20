"""Shared fixtures: real mosquitto, a pty RFLink gateway, the platform emulator, the daemon.

Integration tests use real parts (a broker on a free loopback port, pseudo-
terminals, the daemon as its own process); only unit tests mock.
"""

from __future__ import annotations

import fnmatch
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

ALLOWED_SKIPS = Path(__file__).with_name("allowed_skips.txt")
_SKIPPED: list[tuple[str, str]] = []  # (test id, reason) for every skip in this run


def allowed_skip_patterns(data_absent: bool) -> list[str]:
    """The reasons tests/allowed_skips.txt lets a test skip for, on this machine."""
    patterns = []
    for raw in ALLOWED_SKIPS.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("[if shared-data-absent]"):
            if not data_absent:
                continue
            line = line.removesuffix("[if shared-data-absent]").rstrip()
        patterns.append(line)
    return patterns


def _record_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and isinstance(report.longrepr, tuple):
        _SKIPPED.append((report.nodeid, str(report.longrepr[2]).removeprefix("Skipped: ")))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record_skip(report)


def unexpected_skips(skipped: list[tuple[str, str]], data_absent: bool) -> list[tuple[str, str]]:
    patterns = allowed_skip_patterns(data_absent)
    return [(node, reason) for node, reason in skipped if not any(fnmatch.fnmatchcase(reason, p) for p in patterns)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skip not in tests/allowed_skips.txt fails the run: a test that did not run did not pass."""
    if unexpected_skips(_SKIPPED, not SHARED_DATA.exists()) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    bad = unexpected_skips(_SKIPPED, not SHARED_DATA.exists())
    if bad:
        terminalreporter.section("skips not in tests/allowed_skips.txt (these fail the run)", red=True)
        for node, reason in bad:
            terminalreporter.line(f"{node}: {reason}", red=True)


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
                     "reconnect_max_s": 1.0, "health_interval_s": 5.0,
                     # A CI machine booted minutes ago would otherwise wait its site's turn (docs/fleet.md).
                     "boot_spread_s": 0.0},
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
