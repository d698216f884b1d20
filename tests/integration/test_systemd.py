"""The service unit, the install script, the notify protocol and `carehub doctor`, for real."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import tomli_w

from tests.conftest import REPO, hub_config

pytestmark = pytest.mark.integration
UNIT = REPO / "systemd" / "carehub.service"


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (the README's test command installs it)")
    return path


def test_unit_verifies_without_any_warning(tmp_path):
    need("systemd-analyze")
    # verify checks that ExecStart exists; point it at a real binary, change nothing else.
    unit = tmp_path / "carehub.service"
    unit.write_text(UNIT.read_text().replace("/opt/carehub/venv/bin/carehub", "/bin/true"))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    # It exits 0 on many mistakes: any output about the unit is a failure.
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 0 and lines == [], "\n".join(lines)


def test_exposure_is_at_most_2_5():
    need("systemd-analyze")
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)],
                          capture_output=True, text=True)
    m = re.search(r"Overall exposure level for carehub\.service: ([0-9.]+)", proc.stdout + proc.stderr)
    assert m, proc.stdout + proc.stderr
    exposure = float(m.group(1))
    assert exposure <= 2.5
    documented = (REPO / "docs" / "systemd.md").read_text()
    assert f"exposure {exposure}" in documented, f"docs/systemd.md must record exposure {exposure}"


def test_install_script_is_idempotent_and_uninstalls(tmp_path):
    need("shellcheck")
    subprocess.run(["shellcheck", str(REPO / "systemd" / "install.sh")], check=True)
    env = {**os.environ, "PIP_INSTALL_ARGS": "--no-deps"}
    script = str(REPO / "systemd" / "install.sh")
    for _ in range(2):
        proc = subprocess.run([script, "--prefix", str(tmp_path)], capture_output=True, text=True, env=env,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
    cfg = tmp_path / "etc" / "carehub" / "carehub.toml"
    assert cfg.exists() and "kept the existing" in proc.stdout
    assert (tmp_path / "etc" / "systemd" / "system" / "carehub.service").read_text() == UNIT.read_text()
    assert (tmp_path / "etc" / "udev" / "rules.d" / "99-carehub-rflink.rules").exists()
    assert (tmp_path / "opt" / "carehub" / "venv" / "bin" / "carehub").exists()
    subprocess.run([script, "--prefix", str(tmp_path), "--uninstall"], check=True, capture_output=True)
    assert cfg.exists() and not (tmp_path / "opt" / "carehub").exists()
    subprocess.run([script, "--prefix", str(tmp_path), "--uninstall", "--purge"], check=True, capture_output=True)
    assert not cfg.exists()


def test_udev_rules_parse():
    need("udevadm")
    proc = subprocess.run(["udevadm", "verify", str(REPO / "systemd" / "99-carehub-rflink.rules")],
                          capture_output=True, text=True)
    if "Unknown command" in proc.stderr or ("invalid" in proc.stderr.lower() and "verb" in proc.stderr.lower()):
        pytest.skip("this udevadm has no 'verify' (systemd < 254)")
    assert proc.returncode == 0, proc.stderr


def _recv_all(sock: socket.socket, seconds: float) -> list[bytes]:
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            out.append(sock.recv(4096))
        except TimeoutError:
            pass
    return out


def test_ready_and_watchdog_pings_stop_when_the_loop_is_blocked(tmp_path, mosquitto, daemon_factory):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.2)
    hub = daemon_factory(hub_config(tmp_path, mosquitto.port, None),
                         env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "1000000",
                              "CAREHUB_TEST_HOOKS": "1"}).start()
    first = _recv_all(sock, 3.0)
    assert b"READY=1" in first
    assert first.count(b"WATCHDOG=1") >= 3, first
    assert hub.proc is not None
    hub.proc.send_signal(signal.SIGUSR2)  # the daemon blocks its own loop for 20 s
    time.sleep(0.3)
    _recv_all(sock, 0.1)  # drop anything sent before the block took hold
    blocked = _recv_all(sock, 3.0)
    assert b"WATCHDOG=1" not in blocked, blocked
    hub.proc.kill()


def test_doctor(tmp_path, mosquitto):
    cfg = hub_config(tmp_path, mosquitto.port, None)
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(cfg))
    run = lambda p: subprocess.run([sys.executable, "-m", "gateway.cli", "doctor", "--config", str(p),  # noqa: E731
                                    "--timeout", "3"], capture_output=True, text=True, cwd=REPO, timeout=60)
    ok = run(path)
    assert ok.returncode == 0, ok.stdout
    assert re.search(r"^OK\s+broker", ok.stdout, re.M)
    assert re.search(r"^OK\s+web\s+.*disabled", ok.stdout, re.M)
    cfg["web"] = {"enabled": True}
    path.write_text(tomli_w.dumps(cfg))
    pending = run(path)
    assert pending.returncode == 0 and re.search(r"^WARN\s+web\s+no technician password yet", pending.stdout, re.M)
    cfg["platform"]["port"] = 1  # nothing listens there
    cfg["rflink"] = {"enabled": True, "port": str(tmp_path / "no-such-tty")}
    path.write_text(tomli_w.dumps(cfg))
    bad = run(path)
    assert bad.returncode == 1
    assert re.search(r"^FAIL\s+broker", bad.stdout, re.M)
    assert re.search(r"^FAIL\s+rflink.*does not exist", bad.stdout, re.M)
    cfg["platform"].update({"host": "192.0.2.10", "port": 1883, "tls": False})  # plaintext across a network
    path.write_text(tomli_w.dumps(cfg))
    plain = run(path)
    assert plain.returncode == 1 and re.search(r"^FAIL\s+tls\s+plaintext MQTT to 192.0.2.10", plain.stdout, re.M)
    path.write_text("[platform]\nport = 'x'\n")
    broken = run(path)
    assert broken.returncode == 1 and "platform.port = 'x'" in broken.stdout
