"""Real trials from ../shared/data through `carehub replay wearable` (the daemon's detectors)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, shared_data

pytestmark = [pytest.mark.integration, pytest.mark.data]

FALLS = ["F01_SA05_R01", "F02_SA07_R02", "F05_SA12_R01", "F08_SA17_R03", "F15_SA21_R01"]
EVERYDAY = ["D01_SA05_R01", "D04_SA07_R01", "D07_SA12_R02", "D10_SA17_R01", "D17_SA21_R01", "D19_SA03_R01"]


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory):
    src = np.load(shared_data("sisfall-young-50hz.npz"))
    wanted = FALLS + EVERYDAY
    index = {str(t): i for i, t in enumerate(src["trial"])}
    missing = [t for t in wanted if t not in index]
    if missing:
        pytest.skip(f"trials {missing} are not in this copy of the data")
    rows = [index[t] for t in wanted]
    off = src["offsets"]
    parts = [src["acc"][off[i]:off[i + 1]] for i in rows]
    path = tmp_path_factory.mktemp("trials") / "subset.npz"
    np.savez_compressed(
        path, acc=np.concatenate(parts), offsets=np.concatenate([[0], np.cumsum([len(p) for p in parts])]),
        fs=src["fs"], subject=src["subject"][rows], activity=src["activity"][rows], trial=src["trial"][rows],
        is_fall=src["is_fall"][rows], placement=src["placement"][rows], source=src["source"],
    )
    return path


def test_real_trials_are_classified_as_expected(subset):
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "replay", "wearable", str(subset)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    got = {line["trial"]: line["alerts"] for line in lines}
    assert all(isinstance(line["recovered"], list) for line in lines)
    for line in lines:
        for f in line["recovered"]:
            assert set(f) == {"type", "t", "impact_t", "score"}, "recovered falls carry the alerts' fields"
    assert set(got) == set(FALLS + EVERYDAY)
    for trial in FALLS:
        assert len(got[trial]) == 1, f"{trial} is a fall: {got[trial]}"
        alert = got[trial][0]
        assert alert["type"] == "fall" and 0 < alert["t"] - alert["impact_t"] <= 3.0 and 0 <= alert["score"] <= 1
    for trial in EVERYDAY:
        assert got[trial] == [], f"{trial} is everyday life"
