"""The ``carehub`` command as a person meets it: help, version, ordinary mistakes, pipes, terminals.

Every case runs the real command as its own process.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration
CARE = [sys.executable, "-m", "gateway.cli"]
SHIPPED = REPO / "detection" / "fall" / "params.npz"


def carehub(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CARE, *args], capture_output=True, text=True, cwd=REPO, timeout=120, **kw)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("home") / "stuck"
    assert carehub("sim", "home", str(out), "--days", "12", "--kind", "stuck").returncode == 0
    return out


def test_carehub_alone_and_a_group_alone_show_their_help():
    proc = carehub()
    assert proc.returncode == 0 and proc.stdout.startswith("usage: carehub") and "replay" in proc.stdout
    proc = carehub("sim")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: carehub sim") and "rflink" in proc.stdout


def test_version():
    proc = carehub("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("carehub ")


@pytest.mark.parametrize("args", [
    ("replay", "home", "/nonexistent/home"),
    ("replay", "wearable", "/nonexistent/trials.npz"),
    ("replay", "vitals", "/nonexistent/rec.jsonl"),
    ("eval", "home", "/nonexistent/home", "--n", "1"),
    ("eval", "fall", "--data", "/nonexistent/trials.npz"),
    ("train", "fall", "--data", "/nonexistent/trials.npz", "--output", "/tmp/never-written.npz"),
    ("config", "check", "--config", "/nonexistent/carehub.toml"),
    ("run", "--config", "/nonexistent/carehub.toml"),
    ("replay", "home", "/nonexistent/home", "--config", "/nonexistent/carehub.toml"),
])
def test_a_missing_file_is_one_line_not_a_traceback(args):
    proc = carehub(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "/nonexistent/" in proc.stderr and proc.stdout == ""


def test_a_closed_pipe_ends_quietly(home, tmp_path):
    """``carehub replay home DIR | head -1``: the reader leaves early; no BrokenPipeError on the screen."""
    err = tmp_path / "stderr"
    cmd = f"{' '.join(CARE)} replay home {home} 2>{err} | head -1"
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith('{"ts": ')
    assert err.read_text() == ""


def test_train_fall_never_overwrites_the_shipped_parameters_unless_asked():
    before = SHIPPED.stat().st_mtime_ns
    proc = carehub("train", "fall", "--data", "/nonexistent/trials.npz")
    assert proc.returncode == 2 and "--output" in proc.stderr and "--overwrite-shipped" in proc.stderr
    proc = carehub("train", "fall", "--data", "/nonexistent/trials.npz", "--output", str(SHIPPED))
    assert proc.returncode == 2 and "--overwrite-shipped" in proc.stderr
    assert SHIPPED.stat().st_mtime_ns == before


def test_a_misspelt_key_is_named_with_its_line_and_the_key_meant(tmp_path):
    path = tmp_path / "carehub.toml"
    path.write_text('# installer\n[detection.home]\ninactivity_flor_min = 50\n\n[platfrom]\nhost = "x"\n')
    proc = carehub("config", "check", "--config", str(path))
    assert proc.returncode == 2
    assert "line 3: detection.home.inactivity_flor_min" in proc.stderr
    assert "did you mean detection.home.inactivity_floor_min?" in proc.stderr
    assert "line 5: platfrom" in proc.stderr and "did you mean platform?" in proc.stderr


def test_a_contradiction_is_named_on_both_lines(tmp_path):
    path = tmp_path / "carehub.toml"
    path.write_text("[detection.home]\ndwell_floor_min = 70\ndwell_ceiling_min = 60\n")
    proc = carehub("config", "check", "--config", str(path))
    assert proc.returncode == 2
    assert "line 2: detection.home.dwell_floor_min = 70.0 is not allowed: at most detection.home.dwell_ceiling_min" \
        in proc.stderr
    assert "line 3: detection.home.dwell_ceiling_min = 60.0 is not allowed: at least" in proc.stderr


def run_on_terminal(args: list[str], timeout: float = 120) -> tuple[int, str]:
    """The command with stdout and stderr on a pseudo-terminal, as a person runs it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*CARE, *args], stdout=slave, stderr=slave, cwd=REPO)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(10), b"".join(chunks).decode(errors="replace")


def test_eval_home_is_a_table_on_a_terminal_and_json_in_a_pipe(home):
    code, screen = run_on_terminal(["eval", "home", str(home), "--n", "2", "--learn-days", "3"])
    assert code == 0, screen
    assert "false alarms" in screen and "per 30 days" in screen and "median delay" in screen and " min" in screen
    assert "eval home stuck:" in screen  # progress, on the terminal's stderr
    proc = carehub("eval", "home", str(home), "--n", "2", "--learn-days", "3")
    assert proc.returncode == 0 and proc.stderr == ""  # no progress into a pipe or a log
    import json

    result = json.loads(proc.stdout)
    assert {"false_alarms_per_30d", "detected_1h", "median_delay_min"} <= set(result)
    assert json.loads(carehub("eval", "home", str(home), "--n", "2", "--learn-days", "3", "--json").stdout) \
        .keys() == result.keys()


def test_a_long_replay_shows_progress_only_on_a_terminal(home):
    code, screen = run_on_terminal(["replay", "home", str(home)])
    assert code == 0 and "replay home stuck:" in screen and '{"ts": ' in screen
    proc = carehub("replay", "home", str(home))
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.startswith('{"ts": ')


@pytest.fixture(scope="module")
def trials(tmp_path_factory) -> Path:
    """A few real trials (falls and everyday activities of six people) from ../shared/data."""
    import numpy as np

    from tests.conftest import shared_data

    src = np.load(shared_data("sisfall-young-50hz.npz"))
    wanted = ["F01_SA05_R01", "F02_SA07_R02", "F05_SA12_R01", "F08_SA17_R03", "F15_SA21_R01",
              "D01_SA05_R01", "D04_SA07_R01", "D07_SA12_R02", "D10_SA17_R01", "D17_SA21_R01", "D19_SA03_R01"]
    index = {str(t): i for i, t in enumerate(src["trial"])}
    rows = [index[t] for t in wanted if t in index]
    off = src["offsets"]
    parts = [src["acc"][off[i]:off[i + 1]] for i in rows]
    path = tmp_path_factory.mktemp("trials") / "few.npz"
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    np.savez_compressed(path, acc=np.concatenate(parts), offsets=offsets, fs=src["fs"], subject=src["subject"][rows],
                        activity=src["activity"][rows], trial=src["trial"][rows], is_fall=src["is_fall"][rows],
                        placement=src["placement"][rows])
    return path


@pytest.mark.data
def test_train_fall_writes_where_asked_with_progress_on_a_terminal(trials, tmp_path):
    before = SHIPPED.stat().st_mtime_ns
    out = tmp_path / "params"
    code, screen = run_on_terminal(["train", "fall", "--data", str(trials), "--output", str(out)])
    assert code == 0, screen
    assert "train fall:" in screen and f"wrote {out}.npz" in screen
    assert (tmp_path / "params.npz").stat().st_size > 0
    assert SHIPPED.stat().st_mtime_ns == before


@pytest.mark.data
def test_eval_fall_reads_with_units_on_a_terminal_and_json_in_a_pipe(trials):
    code, screen = run_on_terminal(["eval", "fall", "--data", str(trials), "--folds", "0"])
    assert code == 0, screen
    assert "eval fall:" in screen and "sensitivity " in screen and " %" in screen and "latency_median_s" in screen
    proc = carehub("eval", "fall", "--data", str(trials), "--folds", "0", "--json")
    assert proc.returncode == 0 and proc.stderr == ""
    import json

    row = json.loads(proc.stdout.splitlines()[0])
    assert 0 <= row["sensitivity"] <= 1 and "false_alarms_per_hour_adl" in row
