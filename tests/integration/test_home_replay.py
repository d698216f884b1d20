"""`carehub replay home` on a real home log from ../shared/data, through the daemon's detectors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, shared_data

pytestmark = [pytest.mark.integration, pytest.mark.data]


def test_replay_real_home_prints_alerts_and_keeps_baselines(tmp_path):
    home = shared_data("homes/ordonez-a")
    db = tmp_path / "state.db"
    cmd = [sys.executable, "-m", "gateway.cli", "replay", "home", str(home), "--state-db", str(db)]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    for line in lines:
        assert set(line) == {"ts", "type", "severity", "room", "detail"}
        assert line["severity"] in ("emergency", "urgent", "wellbeing", "technical")
    again = subprocess.run([*cmd[:-2], "--until", "2011-12-13 12:00:00"], capture_output=True, text=True,
                           cwd=REPO, timeout=120)
    assert again.returncode == 0
    # A second run from the saved baselines starts out knowing the home: no pre-learning defaults.
    warm = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    warm_lines = [json.loads(line) for line in warm.stdout.splitlines()]
    assert all(ln["detail"].get("learned", True) for ln in warm_lines if ln["type"] == "inactivity")
    assert len(warm_lines) <= len(lines)
