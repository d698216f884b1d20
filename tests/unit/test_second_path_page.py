"""The second path on the technician's status page (gateway/web/templates/second_path.html)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from gateway.web.app import make_app
from tests.unit.test_web import Page, make_fake_hub

NOW = time.time()
SECOND_PATH: dict[str, Any] = {
    "enabled": True, "usable": True, "problem": None, "sim": "ready", "registration": "home", "signal_dbm": -73,
    "csq": 20, "bars": 5, "operator": "CHINA MOBILE", "checked_ago_s": 3.0, "after_s": 60.0,
    "recipients": [{"number": "+8613800138000", "role": "family", "language": "zh", "name": ""}],
    "sending": False, "held": None,
    "path_test": {"started_wall": NOW - 100, "finished_wall": NOW - 50, "code": "T3F2A", "result": "passed",
                  "mqtt": {"ok": True}, "sms": {"ok": True}},
    "recent": [{"alert_id": "3fa2...", "short_id": "3FA2", "sms": [
        {"wall": NOW - 30, "event": "sent", "level": 0, "number": "+8613800138000", "role": "family", "error": None},
        {"wall": NOW - 20, "event": "acknowledged", "level": 0, "number": "+8613800138000", "role": "family",
         "error": None}]}],
    "counters": {}, "modem": {},
}


async def _status_page(tmp_path: Path, second_path: dict[str, Any] | None, lang: str) -> str:
    hub = make_fake_hub(tmp_path)
    real_status = hub.status
    hub.status = lambda: {**real_status(), "second_path": second_path}  # type: ignore[method-assign]
    async with TestClient(TestServer(make_app(hub), host="127.0.0.1")) as client:
        page = Page(client, hub, tmp_path)
        await page.set_up()
        await page.get(f"/lang?to={lang}&next=/status")
        status, text = await page.get("/status")
        assert status == 200
        return text


async def test_the_status_page_shows_the_modem_signal_and_the_last_path_test(tmp_path):
    text = await _status_page(tmp_path, SECOND_PATH, "en")
    assert "Second alarm path (SMS)" in text and "-73 dBm" in text and "▮▮▮▮▮" in text
    assert "CHINA MOBILE" in text and "passed" in text and "3FA2" in text and "acknowledged by reply" in text


async def test_an_unusable_path_says_why_in_chinese(tmp_path):
    broken = {**SECOND_PATH, "usable": False, "problem": "sim:absent", "signal_dbm": None, "bars": None,
              "path_test": None, "recent": []}
    text = await _status_page(tmp_path, broken, "zh")
    assert "第二报警通道（短信）" in text and "目前无法发送短信：sim:absent" in text and "尚未进行" in text


async def test_without_a_second_path_the_page_has_no_such_section(tmp_path):
    assert 'id="second-path"' not in await _status_page(tmp_path, None, "en")
