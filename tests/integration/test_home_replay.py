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


def test_eval_home_gives_the_judges_figures(tmp_path):
    """`carehub eval home` and ../shared/eval/score_home.py agree, figure for figure, on the same home."""
    scorer = REPO.parent / "shared" / "eval" / "score_home.py"
    if not scorer.exists():
        pytest.skip(f"development data {scorer} is absent (it lives beside the repo in ../shared/data)")
    from simulators.home import generate, write_format_b

    evs, acts = generate(9, seed=4, kind="mats")
    home = tmp_path / "mats-4"
    write_format_b(home, evs, acts, kind="mats")
    common = ["--n", "4", "--seed", "3", "--learn-days", "4"]
    replay = f"{sys.executable} -m gateway.cli replay home"
    judged = subprocess.run([sys.executable, str(scorer), str(home), "--replay", replay, *common],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert judged.returncode == 0, judged.stderr
    ours = subprocess.run([sys.executable, "-m", "gateway.cli", "eval", "home", str(home), *common],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    a, b = json.loads(judged.stdout), json.loads(ours.stdout)
    keys = ("false_alarms", "false_alarms_per_30d", "false_alarm_types", "injected", "detected_1h", "detected_2h",
            "detected_4h", "detected_12h", "median_delay_min", "bathroom_injected", "bathroom_median_delay_min",
            "injections")
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
