"""The vital-sign and wear detectors as the daemon builds them from the config."""

from __future__ import annotations

import re

import pytest

from detection.events import DeviceStatus, Stamp, Tick, VitalSign
from drivers.ble.driver import WearableSpec, make_decoder
from drivers.ble.profiles.health import HealthDecoder
from gateway import platform_changes
from gateway.config import merge, validate
from gateway.detectors import build_detectors

WEARABLES = [{"id": "watch", "address": "AA:BB:CC:DD:EE:01", "profile": "heart_rate"},
             {"id": "cuff", "address": "AA:BB:CC:DD:EE:02", "profile": "blood_pressure"}]
CFG = validate({"wearables": WEARABLES, "detection": {"vitals": {"not_worn_after_h": 1, "waking_hours": "0-24",
                                                                 "hr_low_bpm": 45, "user_id": 2}}})
H = 3600.0


def at(t: float) -> Stamp:
    return Stamp(t, 20000 * 86400.0 + 9 * H + t)


def run(observations):
    detectors = build_detectors(CFG)
    out = []
    for obs in observations:
        for det in detectors:
            out += [(det.name, f) for f in det.observe(obs)]
    return detectors, out


def test_the_detectors_are_built_from_the_config():
    names = [d.name for d in build_detectors(CFG)]
    assert "vitals" in names and "wear" in names
    assert "vitals" not in [d.name for d in build_detectors(validate({
        "wearables": WEARABLES, "detection": {"vitals": {"enabled": False}}}))]
    assert "wear" in [d.name for d in build_detectors(validate({
        "wearables": WEARABLES, "detection": {"vitals": {"enabled": False}}}))]


def test_settings_reach_the_detectors():
    _, out = run([VitalSign(device="watch", at=at(i * 10.0), heart_rate_bpm=43, skin_contact=True)
                  for i in range(70)] + [VitalSign(device="cuff", at=at(800), systolic_mmhg=200, diastolic_mmhg=90,
                                                   user_id=3)])
    assert [f.type for _, f in out] == ["heart_rate_low"]  # 43 < 45; the cuff reading was another user's


def test_a_meter_is_never_offline_and_not_worn_waits_for_its_time():
    observations = [VitalSign(device="watch", at=at(0.0), heart_rate_bpm=70, skin_contact=True),
                    DeviceStatus(device="watch", at=at(1.0), worn=False)]
    t = 1.0
    while t < 1.2 * H:
        t += 30.0
        observations += [Tick(at=at(t)), VitalSign(device="watch", at=at(t), skin_contact=False)]
    _, out = run(observations)
    kinds = [(name, f.type, f.device) for name, f in out]
    assert ("supervision", "device_offline", "cuff") not in kinds
    assert [k for k in kinds if k[1] == "not_worn"] == [("wear", "not_worn", "watch")]  # after 1 h, not at once
    (raised,) = [f for _, f in out if f.type == "not_worn"]
    assert raised.at.t - 1.0 == pytest.approx(H, abs=31)


def test_meter_profiles_get_the_health_decoder():
    decoder = make_decoder(WearableSpec("cuff", "AA:BB:CC:DD:EE:02", "blood_pressure", "wrist"))
    assert isinstance(decoder, HealthDecoder) and decoder.services == ("blood_pressure",)


def test_the_platform_needs_a_reason_to_switch_vitals_off_or_loosen_them():
    base = validate({})
    for change in ({"detection": {"vitals": {"enabled": False}}}, {"detection": {"vitals": {"hr_low_bpm": 25}}},
                   {"detection": {"vitals": {"not_worn_after_h": 24}}}):
        errors, _ = platform_changes.check(base, merge(base, change), None)
        assert errors and "maintenance" in errors[0].allowed
    assert platform_changes.check(base, merge(base, {"detection": {"vitals": {"hr_low_bpm": 42}}}), None) == ([], [])


def test_the_journal_line_names_what_was_measured():
    from gateway.pipeline import describe

    kind, text, detail = describe(VitalSign(device="cuff", at=at(0), systolic_mmhg=121, diastolic_mmhg=79))
    assert kind == "vital" and detail == {"systolic_mmhg": 121, "diastolic_mmhg": 79} and "systolic_mmhg=121" in text


def test_meter_profiles_agree_between_config_and_driver():
    from drivers.ble.profiles.health import METER_PROFILES as DRIVER_METERS
    from gateway.config.schema import METER_PROFILES as CONFIG_METERS

    assert DRIVER_METERS == CONFIG_METERS


async def test_an_absent_meter_does_not_restart_the_scanner_every_two_minutes():
    import asyncio

    from drivers.ble.driver import WearableDriver
    from tests.unit.test_ble_driver import ADDR, Clock, FakeRadio, until

    radio, clock = FakeRadio(), Clock()
    drv = WearableDriver([WearableSpec("cuff", ADDR, "blood_pressure", "wrist")], lambda: radio, lambda o: None,
                         clock, backoff_min_s=0.01, backoff_max_s=0.05, call_timeout_s=1.0, scan_stale_s=0.2)
    task = asyncio.create_task(drv.run())
    await until(lambda: radio.scans == 1)
    clock.t += 600  # ten minutes without an advert: normal for a cuff between measurements
    await asyncio.sleep(0.3)
    assert drv.counters["scanner_restarts"] == 0
    clock.t += 600  # twenty: a scanner hang is possible, and a cuff sends its stored readings later
    await until(lambda: radio.scans >= 2, within_s=5)
    task.cancel()


def test_the_registry_knows_whether_a_wearable_is_worn():
    from gateway.pipeline import DeviceRegistry, DeviceState

    reg = DeviceRegistry()
    reg.configure([DeviceState(id="watch", kind="wearable", room=None)])
    assert reg.as_list()[0]["worn"] is None
    reg.seen(DeviceStatus(device="watch", at=at(0), worn=False), 1.0)
    assert reg.as_list()[0]["worn"] is False
    reg.seen(VitalSign(device="watch", at=at(1), heart_rate_bpm=70, skin_contact=True), 2.0)
    reg.configure([DeviceState(id="watch", kind="wearable", room=None)])  # a config change keeps it
    assert reg.as_list()[0]["worn"] is True


async def test_the_page_shows_worn_or_not_worn(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from gateway.web.app import make_app
    from tests.unit.test_web import Page, make_fake_hub

    hub = make_fake_hub(tmp_path, wearables=WEARABLES[:1])
    async with TestClient(TestServer(make_app(hub), host="127.0.0.1")) as client:
        page = Page(client, hub, tmp_path)
        await page.set_up()
        _, text = await page.get("/devices")
        assert "not worn" not in text  # nothing reported yet
        hub.registry.seen(DeviceStatus(device="watch", at=at(0), worn=False), 1.0)
        _, text = await page.get("/devices")
        assert re.search(r"<b[^>]*>not worn</b>", text)  # said plainly, marked as a problem


async def test_the_vitals_page_draws_its_chart_on_the_hub(tmp_path):
    import re

    from aiohttp.test_utils import TestClient, TestServer

    from detection.vitals import VitalsMonitor
    from gateway.vitals_summary import vitals_view
    from gateway.web.app import make_app
    from tests.unit.test_web import Page, make_fake_hub

    hub = make_fake_hub(tmp_path, wearables=WEARABLES[:1])
    monitor = VitalsMonitor()
    day0 = 20000
    for d in range(4):
        for i in range(0, 86400, 60):
            monitor.observe(VitalSign(device="watch", at=Stamp(d * 86400.0 + i, (day0 + d) * 86400.0 + i),
                                      heart_rate_bpm=60 + d, skin_contact=True))
    monitor.observe(VitalSign(device="cuff", at=Stamp(4 * 86400.0, (day0 + 4) * 86400.0 + 3600),
                              systolic_mmhg=133, diastolic_mmhg=84))
    async with TestClient(TestServer(make_app(hub), host="127.0.0.1")) as client:
        page = Page(client, hub, tmp_path)
        await page.set_up()
        _, text = await page.get("/vitals")
        assert "switched off" in text  # no vitals in this hub's status
        hub.vitals = vitals_view([monitor], day0 + 4)
        for lang in ("en", "zh"):
            code, text = await page.get("/vitals", headers={"Accept-Language": lang})
            assert code == 200 and "<polyline points=" in text and "<svg" in text
            assert not re.search(r">\s*(vitals|nav)\.[a-z_.]+", text), lang
        assert "133.0 mmHg" in text or "133.0" in text
        assert "2024-10-08 01:00" in text  # the cuff reading, in the home's local time
