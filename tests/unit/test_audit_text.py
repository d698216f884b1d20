"""The audit log in words, in both languages: devices by their labels, settings with their units,
old entries (device lists written whole as JSON text) still readable, never a JSON dump."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import to_data, validate
from gateway.web import i18n
from gateway.web.audit import SECRET_MARK, changes
from gateway.web.audit_text import entry_view
from gateway.web.forms import SECRETS
from tests.unit.fake_hub import FakeHub
from tests.unit.test_web import Page


def t_of(lang: str) -> Any:
    return lambda key, **kw: i18n.translate(lang, key, **kw)


DOOR = {"id": "door-back", "protocol": "EV1527", "address": "0e0042", "switch": "0a", "kind": "door",
        "room": "entrance"}


def lines(lang: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    recorded = changes(to_data(validate(old)), to_data(validate(new)), SECRETS)
    json.dumps(recorded)  # what the file holds
    return entry_view(t_of(lang), {"wall": 1.0, "who": "technician@10.0.0.5", "action": "devices.add",
                                   "changes": recorded})["lines"]


def test_devices_added_removed_and_changed_by_their_labels() -> None:
    assert lines("en", {}, {"devices": [DOOR]}) == ["added door-back (Door contact, entrance)"]
    assert lines("zh", {}, {"devices": [DOOR]}) == ["添加了 door-back（门磁，门厅）"]
    named = {**DOOR, "name": "Back door"}
    assert lines("en", {"devices": [named]}, {}) == ["removed door-back “Back door” (Door contact, entrance)"]
    assert lines("zh", {"devices": [named]}, {}) == ["删除了 door-back “Back door”（门磁，门厅）"]
    moved = {**DOOR, "room": "kitchen", "offline_after_s": 3600}
    assert lines("en", {"devices": [DOOR]}, {"devices": [moved]}) == [
        "door-back: Report when not heard for 0 → 3600 s", "door-back: Room entrance → kitchen"]
    assert lines("zh", {"devices": [DOOR]}, {"devices": [moved]})[1] == "door-back：房间 门厅 → 厨房"
    radar = {"id": "radar-bath", "model": "mr60fda2", "port": "/dev/ttyUSB0", "room": "bathroom"}
    assert lines("en", {}, {"radars": [radar]}) == ["added radar-bath (Seeed MR60FDA2 (presence and fall), bathroom)"]


def test_settings_with_their_labels_and_units_and_secrets_never_shown() -> None:
    old = {"detection": {"home": {"inactivity_floor_min": 45}}}
    new = {"detection": {"home": {"inactivity_floor_min": 60}, "fall": {"enabled": False}}}
    fall_en, fall_zh = (i18n.translate(lang, "field.detection.fall.enabled.label") for lang in ("en", "zh"))
    assert lines("en", old, new) == [f"{fall_en}: on → off", "Inactivity: never sooner than 45 → 60 min"]
    assert lines("zh", old, new) == [f"{fall_zh}：开 → 关", "无活动报警：最短时间 45 → 60 分钟"]
    secret = lines("en", {}, {"platform": {"host": "127.0.0.1", "password": "hunter2"}})
    password = i18n.translate("en", "field.platform.password.label")
    assert f"{password}: changed (not shown)" in secret and all("hunter2" not in x for x in secret)


def test_old_entries_still_render_readably() -> None:
    old_format = [
        {"path": "devices", "old": None, "new": json.dumps([DOOR])},  # a whole list as JSON text
        {"path": "wearables", "old": None, "new": '[{"id": "pendant", "address": "C0:FF…'},  # cut at 200
        {"path": "detection.home.quiet_hours", "old": "", "new": "13-15"},
        {"path": "a.key.this.hub.no.longer.has", "old": 1, "new": 2},
        {"path": "platform.password", "old": SECRET_MARK, "new": SECRET_MARK},
        "not even a change",
    ]
    view = entry_view(t_of("en"), {"wall": 1.0, "who": "platform (ops-7)", "action": "set_config (maintenance: x)",
                                   "changes": old_format})
    assert view["who"] == "the care platform (ops-7)"
    assert view["action"] == "settings changed by the platform (maintenance: x)"
    assert view["lines"][0] == "added door-back (Door contact, entrance)"
    assert view["lines"][1] == "wearables changed (the details were too long for the old log format)"
    assert view["lines"][2].endswith("— → 13-15")
    assert view["lines"][3] == "a.key.this.hub.no.longer.has 1 → 2"
    assert "changed (not shown)" in view["lines"][4]
    assert not any("{" in line or "[" in line for line in view["lines"])
    zh = entry_view(t_of("zh"), {"wall": 1.0, "who": "technician@10.0.0.5", "action": "devices.add",
                                 "changes": old_format})
    assert zh["who"] == "安装人员（10.0.0.5）" and zh["lines"][0] == "添加了 door-back（门磁，门厅）"


VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=3), max_leaves=10)
PATHS = st.sampled_from(["devices", "wearables", "radars", "detection.home.inactivity_floor_min", "platform.password",
                         "alert", "x.y", ""]) | st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["path", "id", "key", "old", "new"]), PATHS | VALUES, max_size=5)
                | VALUES, max_size=5), st.text(max_size=30), st.text(max_size=30))
def test_any_entry_in_the_file_renders_as_lines(changes_: Any, who: str, action: str) -> None:
    for lang in ("en", "zh"):
        view = entry_view(t_of(lang), {"wall": 1.0, "who": who, "action": action, "changes": changes_})
        assert all(isinstance(line, str) for line in view["lines"])
    assert entry_view(t_of("en"), {"changes": 5, "who": None})["lines"] == []  # a line no hub wrote




async def test_the_audit_page_says_what_changed_in_the_page_s_language(tech: Page[FakeHub]) -> None:
    await tech.get("/devices/sensor")
    status, _ = await tech.post("/devices/sensor", {**{k: v for k, v in DOOR.items()}, "name": "", "original": "",
                                                    "offline_after_s": "0"})
    assert status == 200
    await tech.get("/settings")
    await tech.post("/settings", {"detection.home.inactivity_floor_min": "60"})
    # An entry in the old format, as an older hub wrote it.
    with (tech.state / "audit.jsonl").open("a") as f:
        f.write(json.dumps({"wall": 2.0, "who": "technician@127.0.0.1", "action": "devices.remove",
                            "changes": [{"path": "devices", "old": json.dumps([DOOR]), "new": "[]"}]}) + "\n")
    _, en = await tech.get("/audit")
    assert "added door-back (Door contact, entrance)" in en
    assert "Inactivity: never sooner than 45 → 60 min" in en
    assert "removed door-back (Door contact, entrance)" in en
    assert "technician at 127.0.0.1" in en and "sensor added" in en
    audit = en[en.index('id="audit"'):]
    assert not re.search(r"[{\[]\s*&#34;|[{\[]&quot;|\"id\"", audit)  # no JSON on the page
    _, zh = await tech.get("/audit", headers={"Accept-Language": "zh"})
    assert "添加了 door-back（门磁，门厅）" in zh and "无活动报警：最短时间 45 → 60 分钟" in zh
    assert "删除了 door-back（门磁，门厅）" in zh
