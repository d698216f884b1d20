"""Vital-sign detectors on small hand-made series (the synthetic month is test_vitals_month.py)."""

from __future__ import annotations

import json

import numpy as np

from detection.events import AccelBatch, DeviceStatus, Severity, Stamp, Tick, VitalSign
from detection.vitals import VitalsMonitor, VitalsSettings

DAY = 86400.0
EPOCH_DAY = 20000  # local midnight of 2024-10-04
NOON = 12 * 3600.0


def at(t: float) -> Stamp:
    """Hub time ``t`` seconds after local midnight of EPOCH_DAY."""
    return Stamp(t, EPOCH_DAY * DAY + t)


def hr(t: float, bpm: float, contact: bool | None = True, device: str = "watch") -> VitalSign:
    return VitalSign(device=device, at=at(t), heart_rate_bpm=bpm, skin_contact=contact)


def still(t: float, device: str = "watch") -> AccelBatch:
    rng = np.random.default_rng(int(t))
    return AccelBatch(device=device, at=at(t), fs=25.0, samples=np.array([0, 0, 1.0]) + rng.normal(0, 0.01, (50, 3)))


def walking(t: float, device: str = "watch") -> AccelBatch:
    phase = np.linspace(0, 4 * np.pi, 50)[:, None]
    return AccelBatch(device=device, at=at(t), fs=25.0, samples=np.array([0, 0, 1.0]) + 0.4 * np.sin(phase))


def feed(m: VitalsMonitor, observations):
    out = []
    for o in observations:
        out += [(o.at.t, f) for f in m.observe(o)]
    return out


def steady_hr(start: float, seconds: float, bpm: float, step: float = 5.0, **kw):
    return [hr(start + i * step, bpm, **kw) for i in range(int(seconds / step))]


# --- heart rate ------------------------------------------------------------------------------

def test_bradycardia_at_rest_is_urgent_after_its_sustain_time():
    m = VitalsMonitor()
    raised = feed(m, steady_hr(NOON, 900, 36))
    assert len(raised) == 1
    t, f = raised[0]
    assert f.type == "heart_rate_low" and f.severity is Severity.URGENT and f.key == "heart_rate_low:resident"
    assert 600 <= t - NOON <= 610
    assert f.evidence["limit_bpm"] == 40 and f.evidence["heart_rate_bpm"] == 36


def test_nine_minutes_is_not_sustained():
    assert feed(VitalsMonitor(), steady_hr(NOON, 540, 36)) == []


def test_no_skin_contact_no_heart_rate_alert():
    assert feed(VitalsMonitor(), steady_hr(NOON, 1200, 30, contact=False)) == []


def test_contact_from_the_worn_report_when_the_reading_does_not_say():
    m = VitalsMonitor()
    assert feed(m, steady_hr(NOON, 1200, 30, contact=None)) == []
    m.observe(DeviceStatus(device="watch", at=at(NOON + 1200), worn=True))
    assert [f.type for _, f in feed(m, steady_hr(NOON + 1201, 700, 30, contact=None))] == ["heart_rate_low"]


def test_moving_is_not_rest_and_rest_needs_to_settle():
    m = VitalsMonitor()
    obs = []
    for i in range(120):  # ten minutes walking at 150 bpm
        obs += [walking(NOON + 5 * i), hr(NOON + 5 * i, 150)]
    assert feed(m, obs) == []
    # Then sitting: the heart slows over minutes; still fast for 8 minutes of the settling time, no alert.
    obs = []
    for i in range(240):
        t = NOON + 600 + 5 * i
        obs += [still(t), hr(t, 140 if i < 96 else 80)]
    assert feed(m, obs) == []


def test_tachycardia_after_settling_is_urgent():
    m = VitalsMonitor()
    feed(m, [walking(NOON)])
    obs = []
    for i in range(500):
        t = NOON + 5 + 5 * i
        obs += [still(t), hr(t, 150)]
    raised = feed(m, obs)
    assert [f.type for _, f in raised] == ["heart_rate_high"]
    assert raised[0][0] - NOON >= 600 + 600  # rest settles 10 min, then 10 min sustained


def test_one_notice_per_kind_per_day():
    m = VitalsMonitor()
    first = feed(m, steady_hr(NOON, 900, 35))
    again = feed(m, steady_hr(NOON + 3600, 900, 35))
    next_day = feed(m, steady_hr(NOON + DAY, 900, 35))
    assert (len(first), len(again), len(next_day)) == (1, 0, 1)


def _learn_days(m: VitalsMonitor, days: int, bpm: float = 62.0) -> None:
    rng = np.random.default_rng(1)
    for d in range(days):
        for i in range(0, int(DAY), 60):
            m.observe(hr(d * DAY + i, bpm + rng.normal(0, 3)))


def test_own_resting_range_is_learned_and_a_notice_is_wellbeing():
    m = VitalsMonitor()
    _learn_days(m, 4)
    assert m.heart_rate.ranges, "a range per band after 3 days"
    _low, med, high = m.heart_rate.ranges[3]
    assert 60 < med < 64 and 15 <= high - med < 25
    raised = feed(m, steady_hr(4 * DAY + NOON, 2400, 95))
    assert [(f.type, f.severity) for _, f in raised] == [("resting_heart_rate_high", Severity.WELLBEING)]
    assert raised[0][1].evidence["own_median_bpm"] == round(med, 1)


def test_first_day_only_absolute_bounds():
    assert feed(VitalsMonitor(), steady_hr(NOON, 2400, 95)) == []


def test_learned_range_survives_a_restart():
    m = VitalsMonitor()
    _learn_days(m, 4)
    state = json.loads(json.dumps(m.snapshot()))
    m2 = VitalsMonitor()
    m2.restore(state)
    m2.observe(hr(4 * DAY + NOON, 62))
    assert m2.heart_rate.ranges.keys() == m.heart_rate.ranges.keys()


# --- oxygen ----------------------------------------------------------------------------------

def spo2(t: float, pct: float, quality: tuple[str, ...] = (), device: str = "oxi") -> VitalSign:
    return VitalSign(device=device, at=at(t), spo2_pct=pct, pulse_rate_bpm=70, quality=quality)


def test_spo2_sustained_low_is_urgent_within_ten_minutes():
    raised = feed(VitalsMonitor(), [spo2(NOON + i, 85 if i % 30 else 90) for i in range(900)])
    assert [(f.type, f.severity) for _, f in raised] == [("spo2_low", Severity.URGENT)]
    assert 600 <= raised[0][0] - NOON <= 601


def test_spo2_brief_dip_and_unreliable_readings_do_not_alarm():
    m = VitalsMonitor()
    assert feed(m, [spo2(NOON + i, 84) for i in range(300)] + [spo2(NOON + 300 + i, 96) for i in range(600)]) == []
    assert feed(m, [spo2(2 * NOON + i, 70, ("questionable",)) for i in range(1200)]) == []


def test_repeated_low_spot_checks_are_urgent():
    raised = feed(VitalsMonitor(), [spo2(NOON, 86), spo2(NOON + 300, 85), spo2(NOON + 660, 86)])
    assert len(raised) == 1 and raised[0][1].evidence["mode"] == "repeated_spot_checks"
    assert feed(VitalsMonitor(), [spo2(NOON, 86), spo2(NOON + 300, 95), spo2(NOON + 660, 86)]) == []


# --- temperature -----------------------------------------------------------------------------

def temp(t: float, c: float, site: str | None = None) -> VitalSign:
    return VitalSign(device="thermo", at=at(t), body_temp_c=c, temp_site=site)


def test_fever_levels():
    assert [(f.type, f.severity) for _, f in feed(VitalsMonitor(), [temp(NOON, 38.3, "mouth")])] == [
        ("fever", Severity.WELLBEING)]
    assert [f.type for _, f in feed(VitalsMonitor(), [temp(NOON, 37.6, "armpit")])] == ["fever"]
    assert feed(VitalsMonitor(), [temp(NOON, 37.6, "ear")]) == []
    assert [(f.type, f.severity) for _, f in feed(VitalsMonitor(), [temp(NOON, 39.8)])] == [
        ("fever_high", Severity.URGENT)]
    assert [f.type for _, f in feed(VitalsMonitor(), [temp(NOON, 34.6, "ear")])] == ["body_temperature_low"]


def test_a_stale_stored_fever_is_not_news():
    m = VitalsMonitor()
    m.observe(Tick(at=at(3 * DAY)))
    assert feed(m, [temp(NOON, 38.5)]) == []


# --- blood pressure --------------------------------------------------------------------------

def bp(t: float, s: float, d: float, user: int | None = None, flags: tuple[str, ...] = ()) -> VitalSign:
    return VitalSign(device="cuff", at=at(t), systolic_mmhg=s, diastolic_mmhg=d, user_id=user, quality=flags)


def test_blood_pressure_limits():
    kinds = lambda obs: [(f.type, f.severity) for _, f in feed(VitalsMonitor(), obs)]  # noqa: E731
    assert kinds([bp(NOON, 186, 100)]) == [("blood_pressure_high", Severity.URGENT)]
    assert kinds([bp(NOON, 150, 122, flags=("cuff_loose",))]) == [("blood_pressure_high", Severity.URGENT)]
    assert kinds([bp(NOON, 165, 90)]) == [("blood_pressure_high", Severity.WELLBEING)]
    assert kinds([bp(NOON, 78, 50)]) == [("blood_pressure_low", Severity.URGENT)]
    assert kinds([bp(NOON, 125, 80)]) == []


def test_blood_pressure_far_from_own_readings():
    m = VitalsMonitor()
    feed(m, [bp(d * DAY + NOON, 124 + d % 3, 79) for d in range(6)])
    raised = feed(m, [bp(6 * DAY + NOON, 152, 82)])
    assert [(f.type, f.severity) for _, f in raised] == [("blood_pressure_unusual", Severity.WELLBEING)]
    assert raised[0][1].evidence["compared"] == "systolic"


def test_another_users_blood_pressure_is_not_this_persons():
    m = VitalsMonitor(VitalsSettings(user_id=1))
    assert feed(m, [bp(NOON, 190, 100, user=2)]) == []
    assert len(feed(m, [bp(NOON, 190, 100, user=1)])) == 1


# --- weight ----------------------------------------------------------------------------------

def kg(day: int, value: float) -> VitalSign:
    return VitalSign(device="scale", at=at(day * DAY + 7.5 * 3600), weight_kg=value)


def test_weight_gain_over_days():
    m = VitalsMonitor()
    assert feed(m, [kg(0, 70.0), kg(1, 70.3), kg(2, 70.8), kg(3, 71.0)]) == []
    raised = feed(m, [kg(4, 72.9)])
    assert [(f.type, f.severity) for _, f in raised] == [("weight_gain", Severity.WELLBEING)]
    assert raised[0][1].evidence["change_kg"] == 2.6


def test_weight_from_long_ago_is_not_a_sudden_change():
    assert feed(VitalsMonitor(), [kg(0, 70.0), kg(10, 73.0)]) == []


# --- the monitor ------------------------------------------------------------------------------

def test_other_peoples_devices_are_ignored():
    m = VitalsMonitor(VitalsSettings(devices=frozenset({"watch"})))
    assert feed(m, steady_hr(NOON, 900, 30, device="visitor")) == []
    assert len(feed(m, steady_hr(NOON, 900, 30))) == 1


def test_snapshot_is_json_and_restores_notices():
    m = VitalsMonitor()
    feed(m, [*steady_hr(NOON, 900, 30), bp(NOON, 120, 80), kg(0, 70)])
    state = json.loads(json.dumps(m.snapshot()))
    m2 = VitalsMonitor()
    m2.restore(state)
    assert feed(m2, steady_hr(NOON + 3600, 900, 30)) == []  # already told today
    assert m2.blood_pressure.history and m2.weight.days
    m3 = VitalsMonitor()
    m3.restore({"version": 99})
    m3.restore({"version": 1, "notices": "garbage", "heart_rate": [1], "weight": 3})


def test_impossible_values_are_sensor_errors_not_readings():
    m = VitalsMonitor()
    assert feed(m, steady_hr(NOON, 1200, 255)) == []
    assert feed(m, [bp(NOON, 80, 190), spo2(NOON, 20)]) == []  # diastolic above systolic; 20 % SpO2
    assert m.rejected["heart_rate_bpm"] == 240 and m.rejected["systolic_mmhg"] == 1 and m.rejected["spo2_pct"] == 1


def test_daily_summary():
    m = VitalsMonitor()
    obs = [*steady_hr(NOON, 3600, 64, step=60.0), bp(NOON + 100, 131, 84), bp(NOON + 200, 127, 80),
           kg(0, 71.4), temp(NOON, 36.7, "ear"), *[spo2(NOON + 300 + i, 96 + i % 3) for i in range(5000)]]
    feed(m, sorted(obs, key=lambda o: o.at.t))
    feed(m, [hr(NOON + 3660, 64, contact=False), hr(NOON + 3720, 64, contact=False)])
    s = m.summary(EPOCH_DAY)
    assert s["date"] == "2024-10-04" and s["person"] == "resident"
    assert s["measurements"] == {"heart_rate": 62, "spo2": 5000, "temperature": 1, "systolic": 2, "diastolic": 2,
                                 "weight": 1}
    assert s["systolic"] == {"min": 127.0, "median": 129.0, "max": 131.0} and s["weight"]["median"] == 71.4
    assert s["spo2"]["min"] == 96 and s["spo2"]["max"] == 98 and 96 <= s["spo2"]["median"] <= 98
    assert s["worn_h"] == {"watch": 1.02}  # contact for the first hour and the minute after it, then off
    assert s["resting_heart_rate_bpm"] == 64.0
    assert len(m.daily.days[EPOCH_DAY].kinds["spo2"].sample) <= 256
    again = VitalsMonitor()
    again.restore(json.loads(json.dumps(m.snapshot())))
    assert again.summary(EPOCH_DAY)["measurements"] == s["measurements"]
    again.restore({"version": 1, "daily": {"1": {"kinds": {"spo2": ["x", 1, 2, []]}}, "2": "junk"}})
    assert m.summary(EPOCH_DAY + 1)["measurements"]["spo2"] == 0
