"""A skip that tests/allowed_skips.txt does not list fails the run (issue 11, "fails on an unexpected skip")."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, unexpected_skips

UDEV = "this udevadm has no 'verify' (systemd < 254)"
NO_DATA = "development data /x/shared/data/a.npz is absent (it lives beside the repo in ../shared/data)"


def test_only_listed_reasons_pass():
    skipped = [("a", UDEV), ("b", "mosquitto is not installed"), ("c", NO_DATA)]
    assert unexpected_skips(skipped, data_absent=True) == [("b", "mosquitto is not installed")]


def test_the_missing_data_skip_is_allowed_only_when_the_folder_is_missing():
    assert unexpected_skips([("c", NO_DATA)], data_absent=False) == [("c", NO_DATA)]


def run_with_hooks(tmp_path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text("import pytest\n\n" + body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )


def test_a_run_with_an_unexpected_skip_fails(tmp_path):
    proc = run_with_hooks(tmp_path, "def test_x():\n    pytest.skip('the broker was not in the mood')\n")
    assert proc.returncode == 1, proc.stdout
    assert "skips not in tests/allowed_skips.txt" in proc.stdout
    assert "the broker was not in the mood" in proc.stdout


def test_a_run_with_only_allowed_skips_passes(tmp_path):
    proc = run_with_hooks(tmp_path, f"def test_x():\n    pytest.skip({UDEV!r})\n\n\ndef test_y():\n    pass\n")
    assert proc.returncode == 0, proc.stdout
    assert "SKIPPED" in proc.stdout  # -rs: every skip's reason is printed
