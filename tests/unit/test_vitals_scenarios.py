"""The emulated health devices' scenarios, decoded by the hub's own codecs, raise what they are made to."""

from __future__ import annotations

import pytest

from detection.events import Stamp
from detection.vitals import VitalsMonitor
from detection.worn import WearSupervisor
from drivers.ble.profiles.health import HealthDecoder
from simulators.health_devices import PROFILES, SCENARIOS, scenario

DAY = 86400.0
START = 20000 * DAY + 9 * 3600  # 09:00 local


def run(name: str, **kw):  # type: ignore[no-untyped-def]
    decoders = {dev: HealthDecoder(dev, [profile]) for dev, profile in PROFILES.items()}
    vitals, wear = VitalsMonitor(), WearSupervisor(["watch"])
    found = []
    for n in scenario(name, START, **kw):
        for obs in decoders[n.device].decode(n.uuid, n.data, Stamp(n.at_s, START + n.at_s)):
            found += vitals.observe(obs) + wear.observe(obs)
    assert all(d.counters["malformed"] == 0 for d in decoders.values())
    return found, vitals


@pytest.mark.parametrize(("name", "expected"), [
    ("normal", []), ("bradycardia_night", ["heart_rate_low"]), ("hypoxia", ["spo2_low"]),
    ("watch_off", ["not_worn"]), ("missed_day", []),
])
def test_each_scenario_raises_what_it_is_made_to(name, expected):
    found, _ = run(name)
    assert sorted({f.type for f in found if f.state == "raised"}) == expected
    assert name in SCENARIOS


def test_missed_day_arrives_with_its_own_dates():
    _, vitals = run("missed_day")
    today = int(START // DAY)
    counts = [vitals.summary(today - d)["measurements"]["systolic"] for d in (3, 2, 1)]
    assert counts == [1, 1, 0]  # three and two days ago; none yesterday
