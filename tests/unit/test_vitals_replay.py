"""``carehub replay vitals``: a recording through the daemon's own vital-sign and wear detectors."""

from __future__ import annotations

import json

from gateway.cli import main
from gateway.vitals_replay import read


def line(ts: float, **fields) -> str:  # type: ignore[no-untyped-def]
    return json.dumps({"ts": ts, **fields})


T0 = 1_730_000_000.0 - 1_730_000_000.0 % 86400 + 3 * 3600  # 03:00 local


def test_a_night_of_bradycardia_is_replayed(tmp_path, capsys):
    rows = [line(T0 + 10 * i, device="watch", heart_rate_bpm=37, skin_contact=True) for i in range(100)]
    rows.insert(5, "not json")
    rows.insert(9, line(T0, device="watch", heart_rate_bpm=37))  # out of time order
    rows.append(line(T0 + 2000, device="cuff", systolic_mmhg=124, diastolic_mmhg=81, quality=["cuff_loose"]))
    rows.append(line(T0 + 2100, device="watch", heart_rate_bpm="fast"))
    path = tmp_path / "night.jsonl"
    path.write_text("\n".join(rows) + "\n")
    assert main(["replay", "vitals", str(path)]) == 0
    out, err = capsys.readouterr()
    found = [json.loads(x) for x in out.splitlines()]
    assert [(f["type"], f["severity"], f["device"]) for f in found] == [("heart_rate_low", "urgent", "watch")]
    assert found[0]["ts"].endswith("03:10:00")
    assert "3 lines skipped" in err and "line 6 skipped" in err


def test_the_recording_format():
    rec = read([
        line(T0, device="pir", motion=True),
        line(T0 + 1, device="pendant", accel=[[0, 0, 1], [0, 0.1, 1]], fs=50),
        line(T0 + 2, device="watch", worn=False),
        line(T0 + 3, device="oxi", spo2_pct=97, pulse_rate_bpm=64),
        line(T0 + 4, device="thermo", body_temp_c=37.1, temp_site="ear"),
        line(T0 + 5, device="x", accel=[[0, 0]]),
        line(T0 + 6, device="x", worn="yes"),
        line(T0 + 7, device="x"),
        line(T0 + 8, device="", spo2_pct=97),
        line(T0 + 9, device="x", spo2_pct=float("nan")),
    ])
    assert len(rec.observations) == 5 and [n for n, _ in rec.errors] == [6, 7, 8, 9, 10]
    assert rec.worn_devices == {"pendant", "watch"} and rec.devices == {"pendant", "watch", "oxi", "thermo"}


def test_a_missing_recording_is_explained(tmp_path, capsys):
    assert main(["replay", "vitals", str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl" in capsys.readouterr().err
