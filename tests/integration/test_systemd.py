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


# Run as root, then as the service user: loads the installed config, changes one setting the page
# can change, and saves it the way the page and set_config do (gateway.config.save_atomic).
_SAVE_AS_SERVICE_USER = """
import os, sys
from gateway.config import load, merge, save_atomic
uid, gid, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.setgroups([gid]); os.setgid(gid); os.setuid(uid)
os.umask(0o027)  # the unit's UMask
cfg = load(path)
save_atomic(merge(cfg, {"alerts": {"ack_timeout_s": 300.0}}), path)
print("saved as", os.getuid())
"""


def test_the_service_user_can_save_the_installed_config(tmp_path):
    """Under the install script's layout (and the unit's ConfigurationDirectoryMode), the service
    user saves the config atomically: a temporary file beside it, a .bak, a rename."""
    import grp
    import pwd
    import tempfile
    import tomllib

    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    user, group = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")  # stand-ins for carehub:carehub
    # A prefix the service user can reach (pytest's own tmp_path is private to root).
    prefix = tempfile.mkdtemp(prefix="carehub-install-", dir="/tmp")
    try:
        os.chmod(prefix, 0o755)
        env = {**os.environ, "PIP_INSTALL_ARGS": "--no-deps"}
        proc = subprocess.run([*as_root, str(REPO / "systemd" / "install.sh"), "--prefix", prefix,
                               "--group", group.gr_name], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        etc = os.path.join(prefix, "etc", "carehub")
        cfg = os.path.join(etc, "carehub.toml")
        st_dir, st_file = os.stat(etc), os.stat(cfg)
        assert (st_dir.st_uid, st_dir.st_gid, stat_mode(st_dir)) == (0, group.gr_gid, 0o770)
        assert (st_file.st_uid, st_file.st_gid, stat_mode(st_file)) == (0, group.gr_gid, 0o660)
        # systemd applies ConfigurationDirectoryMode at every start: it must agree with the script.
        assert re.search(r"^ConfigurationDirectoryMode=0770$", UNIT.read_text(), re.M)
        assert re.search(r"^ReadWritePaths=/etc/carehub$", UNIT.read_text(), re.M)
        saved = subprocess.run([*as_root, sys.executable, "-c", _SAVE_AS_SERVICE_USER, str(user.pw_uid),
                                str(group.gr_gid), cfg], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert saved.returncode == 0, saved.stderr
        assert f"saved as {user.pw_uid}" in saved.stdout
        with open(cfg, "rb") as f:
            assert tomllib.load(f)["alerts"]["ack_timeout_s"] == 300.0
        assert os.path.exists(cfg + ".bak")
        assert not [n for n in os.listdir(etc) if ".tmp-" in n], "no temporary file left behind"
        # Others get nothing: the file holds the broker password.
        assert stat_mode(os.stat(cfg)) & 0o007 == 0
        # Running the installer again (an upgrade) keeps the saved settings and the layout.
        again = subprocess.run([*as_root, str(REPO / "systemd" / "install.sh"), "--prefix", prefix,
                                "--group", group.gr_name], capture_output=True, text=True, env=env, timeout=600)
        assert again.returncode == 0 and "kept the existing" in again.stdout
        assert stat_mode(os.stat(etc)) == 0o770 and os.stat(cfg).st_gid == group.gr_gid
    finally:
        subprocess.run([*as_root, "rm", "-rf", prefix], check=False)


def stat_mode(st: os.stat_result) -> int:
    return st.st_mode & 0o7777
