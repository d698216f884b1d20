"""The README's first command: the demo ends with the help call acknowledged."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_demo_shows_the_help_call_arrive_and_be_acknowledged(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "demo", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "platform <- EMERGENCY help_call" in out
    assert "acknowledged and closed" in out
    assert "radio: a synthetic morning" in out
    assert "platform <- EMERGENCY fall" in out and "platform <- INFO fall" in out
    assert "1 raised as an emergency, 1 cancelled by the wearer" in out
    assert "radar fall reached the platform as an emergency" in out
