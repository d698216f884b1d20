"""The README's first command: the demo tells its story, ends with everything acknowledged, and cleans up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_demo_tells_the_morning_the_help_call_the_falls_and_the_other_sensors(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the demo's temporary folders must all be gone after
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "demo"], capture_output=True, text=True, cwd=REPO,
                          timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr
    assert "radio: a synthetic morning" in out
    assert re.search(r"\[ *\d+\.\ds  07:\d\d\] radio: bedroom: out of bed", out)  # the flat's time of day
    assert "rtl_433: the balcony door opens" in out and "hub: started rtl_433" in out
    assert "hub, asked by the platform (request/status): heard" in out and "conclusion: " in out
    # Each alert: stored durably, then sent, then received by the platform, in that order.
    help_id = re.search(r"stored durably on the hub's card: emergency help call in the bedroom", out)
    assert help_id
    stored = out.index("emergency help call in the bedroom")
    alert = re.search(r"hub: alert (\w{8}) stored durably on the hub's card: emergency help call", out)
    assert alert
    sent = out.index(f"hub: alert {alert.group(1)} sent")
    received = out.index("platform: received an EMERGENCY: help call in the bedroom")
    assert stored < sent < received
    assert "acknowledged and closed" in out
    assert "level=" not in out and "seq=" not in out  # plain words, not the wire format
    # The hub itself puts the room she was last sensed in into the pendant's alert (evidence.room_inferred).
    assert "platform: received an EMERGENCY: fall (the pendant does not know the room; the hub says she was " \
           "last sensed in the bedroom)" in out
    assert "the fall alert" in out and "was cancelled by the wearer" in out
    assert "1 raised as an emergency, 1 cancelled by the wearer" in out
    assert "zigbee: the hall PIR" in out
    assert "radar fall reached the platform as an emergency" in out
    assert "./dev demo --keep-running" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_stops_the_demo_quietly_and_removes_its_folders(tmp_path, signum):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    # Its own session: the signal goes to the demo's process group, as Ctrl-C on a terminal does.
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True, text=True)
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        lines.append(line)
        if "radio: a synthetic morning" in line or time.monotonic() > deadline:
            break
    time.sleep(1.0)
    os.killpg(proc.pid, signum)
    rest, _ = proc.communicate(timeout=60)
    out = "".join(lines) + rest
    assert proc.returncode == 130, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert "stopped (Ctrl-C)" in out
    assert list(tmp_path.iterdir()) == [], out
