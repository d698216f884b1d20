"""A synthetic month of one person's vital signs: normal variation raises no urgent alert, episodes are raised.

The month (issue 17, Targets): a watch streaming heart rate with skin contact
and an accelerometer, taken off for a shower and to charge in the evening;
sleep (23:00-07:00, heart rate ~12 bpm lower), a daily walk (heart rate to
~120 with motion, minutes of recovery after), household movement, optical
heart-rate glitches (1 % of readings anywhere from 30 to 180 bpm); spot
measurements of SpO2 twice a day, blood pressure, temperature and weight each
morning; a cold on days 12-16 (resting heart rate +10 bpm, temperature up to
37.9 °C, SpO2 93-95 %). Episodes are injected into the same month.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from detection.events import AccelBatch, Finding, Observation, Severity, Stamp, Tick, VitalSign
from detection.vitals import VitalsMonitor
from detection.worn import WearSupervisor

DAY = 86400.0
H = 3600.0
EPOCH_DAY = 20000
STEP = 30.0  # a reading and an accelerometer batch every 30 s
DAYS = 30
BRADYCARDIA = (19 * DAY + 3 * H, 15 * 60.0)  # 03:00 on day 19, asleep: 36 bpm for 15 min
HYPOXIA = (23 * DAY + 14 * H, 12 * 60.0)  # 14:00 on day 23, a continuous oximeter reads 84-87 % for 12 min
WATCH_OFF = (26 * DAY + 9 * H, 4.5 * H)  # 09:00-13:30 on day 26, left on the night stand


def at(t: float) -> Stamp:
    return Stamp(t, EPOCH_DAY * DAY + t)


def month(seed: int, episodes: bool) -> Iterator[Observation]:
    rng = np.random.default_rng(seed)
    base_day = 66.0 + rng.normal(0, 3)
    moved_t = -1e9
    exercise_end = -1e9
    for i in range(int(DAYS * DAY / STEP)):
        t = i * STEP
        day, tod = int(t // DAY), t % DAY
        cold = 12 <= day <= 16
        asleep = tod >= 23 * H or tod < 7 * H
        walk_start = 10 * H + (day % 3) * 1800
        walking = walk_start <= tod < walk_start + 45 * 60
        off = (8 * H <= tod < 8 * H + 20 * 60) or (21.5 * H <= tod < 23 * H)
        if episodes and WATCH_OFF[0] <= t < WATCH_OFF[0] + WATCH_OFF[1]:
            off = True
        moving = walking or (not asleep and not off and rng.random() < 0.25)
        if moving:
            moved_t = t
        if walking:
            exercise_end = t
        sd = 0.002 if off else 0.3 if walking else 0.12 if moving else 0.006 if asleep else 0.012
        samples = np.array([0.0, 0.0, 1.0]) + rng.normal(0, sd, (50, 3))
        yield AccelBatch(device="watch", at=at(t), fs=25.0, samples=samples, placement="wrist")
        resting = base_day - (12 if asleep else 0) + (10 if cold else 0) + 4 * np.sin(2 * np.pi * day / 9)
        bpm = resting + rng.normal(0, 3)
        if walking:
            bpm = 110 + rng.normal(0, 5)
        else:
            bpm += 45 * np.exp(-(t - exercise_end) / 180.0) + (12 if t - moved_t < 120 else 0)
        if rng.random() < 0.01:
            bpm = rng.uniform(30, 180)  # optical sensor glitch
        if episodes and BRADYCARDIA[0] <= t < BRADYCARDIA[0] + BRADYCARDIA[1]:
            bpm = 36 + rng.normal(0, 1.5)
        yield VitalSign(device="watch", at=at(t), heart_rate_bpm=None if off else round(float(bpm)),
                        skin_contact=not off)
        if i % 2 == 0:
            yield Tick(at=at(t))
        if tod in (7.5 * H, 19 * H):
            yield VitalSign(device="oximeter", at=at(t + 5), pulse_rate_bpm=round(float(bpm)),
                            spo2_pct=float(rng.integers(93, 96) if cold else rng.integers(95, 99)))
        if tod == 7.5 * H:
            yield VitalSign(device="cuff", at=at(t + 10), systolic_mmhg=round(float(128 + rng.normal(0, 7))),
                            diastolic_mmhg=round(float(79 + rng.normal(0, 5))), pulse_rate_bpm=round(float(bpm)))
            yield VitalSign(device="scale", at=at(t + 20), weight_kg=round(float(72 + rng.normal(0, 0.35)), 1))
            temp = 36.6 + rng.normal(0, 0.15) + (1.1 if cold else 0.0)
            yield VitalSign(device="thermometer", at=at(t + 30), body_temp_c=round(float(min(temp, 37.9)), 1),
                            temp_site="ear")
        if episodes and HYPOXIA[0] - 600 <= t < HYPOXIA[0] + HYPOXIA[1] + 600:
            for k in range(int(STEP)):  # the oximeter streams once a second
                low = HYPOXIA[0] <= t + k < HYPOXIA[0] + HYPOXIA[1]
                pct = rng.uniform(84, 87.5) if low else rng.uniform(94, 97)
                yield VitalSign(device="oximeter", at=at(t + k + 0.5), spo2_pct=round(float(pct)))


def run(seed: int, episodes: bool) -> tuple[list[Finding], VitalsMonitor]:
    vitals, wear = VitalsMonitor(), WearSupervisor(["watch"])
    found: list[Finding] = []
    for obs in month(seed, episodes):
        found += vitals.observe(obs)
        found += wear.observe(obs)
    return found, vitals


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_normal_month_raises_no_urgent_vital_alert(seed):
    found, vitals = run(seed, episodes=False)
    assert [f for f in found if f.severity in (Severity.URGENT, Severity.EMERGENCY)] == []
    assert [f for f in found if f.type == "not_worn"] == []
    wellbeing = [f for f in found if f.severity is Severity.WELLBEING]
    print(f"seed {seed}: wellbeing notices {[(int(f.at.t // DAY), f.type) for f in wellbeing]}")
    assert len(wellbeing) <= 5  # a cold may be worth a word; a flood is not
    day = vitals.summary(EPOCH_DAY + DAYS - 1)  # the last day, kept for the 7-day view
    assert 22.0 <= day["worn_h"]["watch"] <= 22.3  # off 20 min to shower and 1.5 h to charge
    assert {k: day["measurements"][k] for k in ("spo2", "systolic", "weight", "temperature")} == {
        "spo2": 2, "systolic": 1, "weight": 1, "temperature": 1}
    assert 45 < day["resting_heart_rate_bpm"] < 80


def test_injected_episodes_are_raised_within_their_configured_time():
    found, _ = run(1, episodes=True)
    urgent = [f for f in found if f.severity is Severity.URGENT]
    assert sorted(f.type for f in urgent) == ["heart_rate_low", "spo2_low"]
    first = {f.type: f.at.t for f in found if f.state == "raised"}
    brady = first["heart_rate_low"] - BRADYCARDIA[0]
    hypoxia = first["spo2_low"] - HYPOXIA[0]
    off = first["not_worn"] - WATCH_OFF[0]
    print(f"latency: bradycardia {brady:.0f} s, SpO2 {hypoxia:.0f} s, watch off {off:.0f} s")
    assert 0 < brady <= 600 + STEP  # configured: 10 min sustained
    assert 0 < hypoxia <= 600  # configured: 10 min
    assert 4 * H <= off <= 4 * H + STEP  # configured: 4 waking hours
    cleared = [f for f in found if f.type == "not_worn" and f.state == "cleared"]
    assert len(cleared) == 1 and cleared[0].at.t == pytest.approx(WATCH_OFF[0] + WATCH_OFF[1], abs=STEP)
