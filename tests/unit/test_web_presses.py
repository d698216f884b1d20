"""The technician's page: a button's press patterns on the device form, open call requests on the status page."""

from __future__ import annotations

import time

from gateway.store import AlertRow
from tests.unit.fake_hub import FakeHub
from tests.unit.test_web import Page

SOS_BED = {"original": "sos-bed", "id": "sos-bed", "name": "", "room": "bedroom", "kind": "sos",
           "protocol": "EV1527", "address": "0a1b2c", "switch": "01", "offline_after_s": "0",
           "second_switch": ""}


def presses(single: str = "", double: str = "", long: str = "", second: str = "") -> dict[str, str]:
    return {"presses.single": single, "presses.double": double, "presses.long": long, "presses.second": second}


async def test_the_sensor_form_maps_presses_and_four_empty_fields_mean_no_map(tech: Page[FakeHub]) -> None:
    status, text = await tech.get("/devices/sensor?original=sos-bed")
    assert status == 200 and '<fieldset class="presses">' in text and 'name="presses.double"' in text
    status, _ = await tech.post("/devices/sensor", {**SOS_BED, **presses("call_back", "emergency")})
    assert status == 200
    (saved,) = tech.saved()["devices"]
    assert saved["presses"] == {"single": "call_back", "double": "emergency", "long": "", "second": ""}
    assert tech.hub.config.devices[0].presses is not None
    status, text = await tech.get("/devices/sensor?original=sos-bed")
    assert 'value="call_back"' in text
    status, _ = await tech.post("/devices/sensor", {**SOS_BED, **presses()})
    assert status == 200
    assert "presses" not in tech.saved()["devices"][0], "no map: every press an emergency, as before"


async def test_the_form_refuses_an_unknown_service_and_a_map_on_a_motion_sensor(tech: Page[FakeHub]) -> None:
    status, text = await tech.post("/devices/sensor", {**SOS_BED, **presses("meal")})
    assert status == 400 and "call_back, meals, housekeeping, visit" in text
    status, text = await tech.post("/devices/sensor", {**SOS_BED, **presses(double="call_back")})
    assert status == 400 and "raises the emergency at once" in text
    pir = {**SOS_BED, "original": "", "id": "pir-hall", "kind": "pir", "address": "0c0009", "switch": ""}
    status, text = await tech.post("/devices/sensor", {**pir, **presses("meals")})
    assert status == 400 and ("kind &#39;sos&#39;" in text or "kind 'sos'" in text)
    assert [d["id"] for d in tech.saved()["devices"]] == ["sos-bed"]


async def test_open_requests_have_their_own_line_on_the_status_page(tech: Page[FakeHub]) -> None:
    now = time.time()
    tech.hub.alerts["r1"] = AlertRow(
        id="r1", seq=7, type="call_request", severity="info", state="open", finding_key="request:meals",
        device="sos-bed", room="bedroom", level=0, test=False, boot_id="fake", detected_wall=now - 60,
        raised_wall=now - 60, clock_synced=True, evidence={"service": "meals", "requests": 2, "pattern": "double"},
        first_published_wall=None, acked_wall=None, acked_by=None, closed_reason=None, last_sent_wall=now - 60)
    status, text = await tech.get("/status")
    assert status == 200 and 'id="requests"' in text and "sos-bed" in text and "asked 2 times" in text
    status, text = await tech.get("/status", headers={"Accept-Language": "zh-CN"})
    assert "送餐" in text
