"""The person's day on the status page: the journal's aggregation, relative times, the summary and its
reasons, what the home monitor explains, devices that say their state, and the page's own words.

Against ``FakeHub`` (the page's view of the hub) except where the hub's own answer is what is checked
(the real hub's ``day_view`` from its journal and home monitor).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from detection.events import Contact, Motion, Stamp, Tick
from detection.home.explain import now_view
from detection.home.monitor import HomeMonitor
from gateway.activity import SLOTS, ActivityLog, is_sign_of_life, local_day_and_slot
from gateway.web import day_view, forms, i18n
from gateway.web.sections import DETECTION_SECTIONS, sections
from gateway.web.text import ago, duration, field_help
from tests.unit.fake_hub import FakeHub
from tests.unit.test_web import Page, make_hub

NOW = time.time()
HOUR = 3600.0




def t_en(key: str, **kw: Any) -> str:
    return i18n.translate("en", key, **kw)


def t_zh(key: str, **kw: Any) -> str:
    return i18n.translate("zh", key, **kw)


def rows(*items: tuple[float, str, str, str | None, dict[str, Any]]) -> list[tuple[int, float, str, str, str | None,
                                                                                  dict[str, Any]]]:
    return [(i + 1, *item) for i, item in enumerate(items)]


def slot_of(wall: float) -> int:
    return local_day_and_slot(wall)[1]


# --- the journal, per room and quarter hour ----------------------------------------------------


def test_signs_of_life_are_the_home_monitor_s() -> None:
    assert is_sign_of_life("motion", {"active": True})
    assert not is_sign_of_life("motion", {"active": False})  # the end of motion is not a new sign
    assert is_sign_of_life("door", {"active": False}) and is_sign_of_life("bed", {"active": True})
    for kind in ("temperature", "status", "vital", "accel", "button", "presence"):
        assert not is_sign_of_life(kind, {"active": True}), kind


def test_activity_is_counted_per_room_and_quarter_hour_and_kept_a_week() -> None:
    log = ActivityLog()
    t0 = NOW - 2 * HOUR
    log.add(rows((t0, "pir-k", "motion", "kitchen", {"active": True}),
                 (t0 + 1, "pir-k", "motion", "kitchen", {"active": False}),
                 (t0 + 2, "pir-k", "motion", "kitchen", {"active": True}),
                 (t0 + 5, "fridge", "fridge", "kitchen", {"active": True}),
                 (t0 + 9, "th", "temperature", "kitchen", {"active": True}),
                 (t0 + 60, "pir-b", "motion", None, {"active": True}),
                 (NOW - 9 * 86400, "pir-k", "motion", "kitchen", {"active": True})))  # older than the week
    assert log.last_id == 7
    view = log.days(NOW)
    today = view["days"][-1]
    assert today["today"] and len(view["days"]) == 7
    date, slot = local_day_and_slot(t0)
    day = next(d for d in view["days"] if d["date"] == date)
    assert day["rooms"]["kitchen"][slot] == 3  # two motions and the fridge; not its end, not the thermometer
    assert sum(day["rooms"]["other"]) == 1  # a sign of life without a room is still one
    assert view["rooms"][0] == "kitchen" and view["slots"] == SLOTS == 96
    assert all(sum(sum(c) for c in d["rooms"].values()) <= 4 for d in view["days"])
    # Only what was journalled since: the same ids again change nothing.
    log.add([])
    assert log.days(NOW)["days"][-1]["rooms"] == today["rooms"]


def test_an_entrance_door_then_silence_is_an_outing_until_the_next_sign_of_life() -> None:
    log = ActivityLog(away_after_s=600)
    out, back = NOW - 3 * HOUR, NOW - HOUR
    log.add(rows((out - 30, "pir-hall", "motion", "entrance", {"active": True}),
                 (out, "door-front", "door", "entrance", {"active": False}),
                 (back, "door-front", "door", "entrance", {"active": True}),
                 (back + 5, "pir-hall", "motion", "entrance", {"active": True}),
                 # a bathroom door and a short silence: not an outing
                 (back + 60, "door-bath", "door", "bathroom", {"active": True}),
                 (back + 1000, "pir-bath", "motion", "bathroom", {"active": True})))
    assert log.outings == [(out, back)]
    assert log.out_now(NOW) is None
    view = log.days(NOW)
    marked = [o for d in view["days"] for o in d["outings"]]
    assert marked[0][0] == slot_of(out) and marked[-1][1] == slot_of(back)  # across midnight: on both days
    # Out of the door now, for longer than the away time: out since then.
    log.add([(99, NOW - 1200, "door-front", "door", "hall", {"active": False})])
    assert log.out_now(NOW) == NOW - 1200
    assert log.out_now(NOW - 900) is None  # 5 minutes after the door: not yet out


def test_alerts_are_marked_on_their_day_and_quarter_hour() -> None:
    log = ActivityLog()
    raised = NOW - 30 * 60
    view = log.days(NOW, [{"type": "inactivity", "severity": "urgent", "room": "kitchen", "raised_wall": raised}])
    marks = [m for d in view["days"] for m in d["alerts"]]
    assert [(m["type"], m["slot"]) for m in marks] == [("inactivity", slot_of(raised))]


# --- words: relative times, durations, help -----------------------------------------------------


@pytest.mark.parametrize(("delta", "en", "zh"), [
    (5, "just now", "刚刚"), (3 * 60 + 10, "3 min ago", "3 分钟前"),
    (2 * HOUR + 5 * 60, "2 h 5 min ago", "2 小时 5 分钟前"),
    (3 * 86400 + 60, "3 days ago", "3 天前"),
])
def test_relative_times_in_both_languages(delta: float, en: str, zh: str) -> None:
    assert ago(t_en, NOW - delta, NOW) == en
    assert ago(t_zh, NOW - delta, NOW) == zh


def test_a_time_in_the_future_or_long_ago_is_the_date_itself() -> None:
    for wall in (NOW + 3600, NOW - 10 * 86400):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ago(t_en, wall, NOW))


def test_durations_and_help_in_chinese_have_no_space_after_a_full_stop() -> None:
    assert duration(t_en, 45 * 60) == "45 min" and duration(t_zh, 95 * 60) == "1 小时 35 分钟"
    f = forms.form_field("detection.home.inactivity_floor_min")
    assert "。允许" in field_help(t_zh, f) or "。" not in field_help(t_zh, f)
    assert ". Allowed" in field_help(t_en, f) or "Allowed" not in field_help(t_en, f)


def test_chinese_text_uses_chinese_punctuation() -> None:
    cjk = r"[\u4e00-\u9fff]"
    for key, text in i18n.catalogue("zh").items():
        assert not re.search(f"{cjk}[,:;!?()]|[,:;!?(]{cjk}", text), (key, text)
        assert "..." not in text, key
    # The page's own joins: colon, comma and brackets are full-width in Chinese.
    assert [t_zh(f"punct.{k}") for k in ("colon", "comma", "open", "close")] == ["：", "，", "（", "）"]


# --- the summary and its reasons ----------------------------------------------------------------


def status(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"open_alerts": [], "platform": {"connected": True}, "clock": {"synced": True},
                            "devices": [], "home_learning": {"learning": False, "days_learned": 9}}
    return base | over


def device(**over: Any) -> dict[str, Any]:
    return {"id": "pir-k", "name": "", "kind": "pir", "room": "kitchen", "last_seen_wall": NOW - 60,
            "battery_low": False, "battery_pct": None, "rssi": None, "online": None, "worn": None,
            "active": None} | over


def summary(st: dict[str, Any], view: dict[str, Any] | None = None, t: Any = t_en) -> dict[str, Any]:
    def label(prefix: str, value: Any) -> str:
        text = t(f"{prefix}.{value}")
        return str(value) if text == f"{prefix}.{value}" else text
    return day_view.summary(st, view or {"monitor": None, "out_since": None}, t, label,
                            lambda s: duration(t, s))


def test_all_ok_says_so_and_gives_no_reason() -> None:
    s = summary(status(devices=[device()]))
    assert s == {"state": "ok", "reasons": []}


def test_reasons_say_what_needs_attention_worst_first() -> None:
    s = summary(status(
        open_alerts=[{"type": "inactivity", "severity": "urgent", "room": "kitchen"}],
        platform={"connected": False}, clock={"synced": False},
        devices=[device(id="door-back", name="Back door", last_seen_wall=None),
                 device(id="pir-b", online=False), device(id="pir-c", battery_low=True),
                 device(id="watch", kind="wearable:x", worn=False)],
        home_learning={"learning": True, "days_learned": 1}))
    assert s["state"] == "bad"
    texts = [r["text"] for r in s["reasons"]]
    assert texts[0] == "Open alert: Inactivity · kitchen"
    assert "Not connected to the care platform" in texts[1]
    assert "Back door has never been heard." in texts
    assert any(x.startswith("pir-b has gone silent") for x in texts)
    assert "pir-c: battery low, replace it soon." in texts
    assert "watch is not being worn." in texts
    assert {r["level"] for r in s["reasons"] if "learning" in r["text"] or "clock" in r["text"]} == {"info"}


def test_a_technical_alert_or_learning_alone_is_not_an_emergency() -> None:
    assert summary(status(open_alerts=[{"type": "sensor_silent", "severity": "technical", "room": None}]))[
        "state"] == "warn"
    assert summary(status(home_learning={"learning": True, "days_learned": 1}))["state"] == "ok"


def test_a_silence_nearing_its_limit_is_a_reason_to_look() -> None:
    last = {"silence_s": 50 * 60.0, "limit_s": 60 * 60.0, "raised": None}
    s = summary(status(), {"monitor": {"last": last}, "out_since": None}, t_zh)
    assert s["state"] == "warn"
    assert s["reasons"][0]["text"] == "已有 50 分钟 没有活动迹象；超过 1 小时 0 分钟 将发出警报。"
    last["silence_s"] = 20 * 60.0
    assert summary(status(), {"monitor": {"last": last}, "out_since": None})["state"] == "ok"


def test_what_the_home_learned_is_grouped_by_room() -> None:
    rooms = day_view.rooms_learned({"contexts": [
        {"context": "pir-k:1/kitchen", "silences": 30, "long_silences": 2, "limit_min": 60.0, "learned": True},
        {"context": "fridge:1>/kitchen", "silences": 10, "long_silences": 0, "limit_min": 45.0, "learned": True},
        {"context": "bed:1|bed/bedroom", "silences": 5, "long_silences": 5, "limit_min": 600.0, "learned": False}]})
    assert [(r["room"], r["silences"], r["long"], r["low"], r["high"]) for r in rooms] == [
        ("kitchen", 40, 2, 45.0, 60.0), ("bedroom", 5, 5, 600.0, 600.0)]
    assert day_view.rooms_learned(None) == []


def test_the_detection_form_has_a_section_for_every_field() -> None:
    groups = sections(forms.DETECTION_FIELDS)
    assert [k for k, _ in groups] == [k for k, _ in DETECTION_SECTIONS]
    assert sum(len(g) for _, g in groups) == len(forms.DETECTION_FIELDS)


# --- what the home monitor explains ---------------------------------------------------------------


def test_the_monitor_explains_the_silence_against_the_limit_it_would_use() -> None:
    m = HomeMonitor()
    start = 1_800_000_000.0 // 86400 * 86400 + 14 * 3600  # 14:00 local
    m.observe(Motion(device="pir-k", at=Stamp(start, start), room="kitchen", active=True))
    at = Stamp(start + 1800, start + 1800)
    m.observe(Tick(at=at))
    view = now_view(m, at)
    last = view["last"]
    assert (last["room"], last["device"], last["kind"]) == ("kitchen", "pir-k", "motion")
    assert last["silence_s"] == 1800 and not last["learned"] and last["raised"] is None
    # While learning, the day's default, between the floor and the daytime ceiling.
    assert 45 * 60 <= last["limit_s"] <= 240 * 60 and last["daytime_bound_s"] == 240 * 60
    assert view["routine"]["wake_usual"] is None and view["routine"]["no_wake_after"] == "10:30"
    m.wake_times.extend([7 * 60.0, 7 * 60 + 20, 6 * 60 + 50, 7 * 60 + 10, 7 * 60 + 5])
    m.routine.history.extend({"bed_min": b} for b in (22 * 60.0, 22 * 60 + 30, 24 * 60 + 10))
    routine = now_view(m, at)["routine"]
    assert routine == {"wake_usual": "07:05", "wakes_learned": 5, "bed_usual": "22:30", "beds_learned": 3,
                       "no_wake_after": "08:50", "wake_learned": True}
    # A door in the bathroom: the dwell room's own rails.
    m.observe(Contact(device="door-bath", at=Stamp(start + 2000, start + 2000), room="bathroom", kind="door",
                      active=True))
    assert now_view(m, Stamp(start + 2100, start + 2100))["last"]["dwell"] is True
    assert now_view(HomeMonitor(), at)["last"] is None


async def test_the_real_hub_s_day_view_comes_from_its_journal_and_matches_the_fake_s_shape(tmp_path: Path) -> None:
    hub = make_hub(tmp_path / "real")
    try:
        hub.store.journal_append([(NOW - 600, "pir-k", "motion", "kitchen", {"active": True}),
                                  (NOW - 500, "hr", "vital", None, {"heart_rate_bpm": 70}),
                                  (NOW - 400, "door-front", "door", "entrance", {"active": False})])
        real = hub.day_view()
        assert real["last_sign"]["room"] == "entrance" and real["last_sign"]["device"] == "door-front"
        today = real["timeline"]["days"][-1]["rooms"]
        assert sum(today["kitchen"]) == 1 and sum(today["entrance"]) == 1
        assert hub.activity.last_id == 3  # the vital sign skipped, and not read again
        hub.store.journal_append([(NOW - 100, "pir-k", "motion", "kitchen", {"active": True})])
        assert sum(hub.day_view()["timeline"]["days"][-1]["rooms"]["kitchen"]) == 2
        fake = FakeHub(hub.config, tmp_path / "fake.toml").day_view()
        assert set(fake) == set(real) and set(fake["timeline"]) == set(real["timeline"])
    finally:
        hub.store.close()


# --- the pages ------------------------------------------------------------------------------------


T0 = NOW - 3 * HOUR
BUSY = rows((T0, "pir-k", "motion", "kitchen", {"active": True}),
            (T0 + 300, "pir-k", "motion", "kitchen", {"active": True}),
            (T0 + 600, "door-front", "door", "entrance", {"active": False}),
            (T0 + 5000, "door-front", "door", "entrance", {"active": True}),
            (T0 + 5100, "pir-b", "motion", "bedroom", {"active": True}))


def busy_day(hub: FakeHub) -> None:
    """A morning in the kitchen, a walk out of the front door, an alert, and the monitor's view now."""
    hub.activity.add(BUSY)
    hub.timeline_alerts = [{"type": "inactivity", "severity": "urgent", "room": "kitchen",
                            "raised_wall": NOW - 2 * HOUR}]
    hub.monitor = {"days_learned": 9.0, "routine": {"wake_usual": "07:05", "wakes_learned": 8, "bed_usual": "22:30",
                                                    "beds_learned": 8, "no_wake_after": "09:10",
                                                    "wake_learned": True},
                   "last": {"room": "bedroom", "device": "pir-b", "kind": "motion", "local": 0.0,
                            "silence_s": 25 * 60.0, "limit_s": 95 * 60.0, "learned": True, "learned_from": 230,
                            "dwell": False, "away": False, "band": 2, "daytime_bound_s": 14400.0,
                            "quiet_now": False, "raised": None}}
    hub.connected = True
    hub.clock_synced = True


async def test_the_status_page_shows_the_day_first(tech: Page[FakeHub]) -> None:
    busy_day(tech.hub)
    tech.hub.registry.devices["sos-bed"].last_seen_wall = NOW - 120
    status, html = await tech.get("/status")
    assert status == 200
    glance = html[html.index('id="glance"'):html.index('id="day"')]
    assert "All OK" in glance
    assert re.search(r"Last sign of life: <b>bedroom</b>, <time class=\"rel\" [^>]*title=\"\d{4}-\d\d-\d\d "
                     r"\d\d:\d\d:\d\d\" tabindex=\"0\"[^>]*>25 min ago</time>", glance), glance
    assert "Silent for 25 min; an alarm is raised after 1 h 35 min here" in glance
    assert "Learned from 230 silences" in glance and "<meter" in glance
    day = html[html.index('id="day"'):html.index('id="summary"')]
    today = local_day_and_slot(NOW)[0]
    rooms_today = {r for _, w, _, _, r, _ in BUSY if local_day_and_slot(w)[0] == today}
    assert day.count('<svg class="strip"') == max(1, len(rooms_today)) + 7  # a lane per room today, a strip a day
    assert "Inactivity at " in day and 'stroke="#b42318"' in day  # the alert marked
    assert "Out " in day and 'fill="#8c959f"' in day  # the outing
    assert "<script" not in day and "style=" not in day  # readable without script; nothing the CSP refuses
    learned = html[html.index('id="learned"'):]
    assert "07:05 (from 8 mornings)" in learned and "22:30 (from 8 nights)" in learned
    # The glance alone, as the page refreshes it.
    status, part = await tech.get("/status?part=glance")
    assert status == 200 and part.lstrip().startswith("{#") is False and 'id="glance-title"' in part


async def test_the_status_page_in_chinese_uses_chinese_punctuation(tech: Page[FakeHub]) -> None:
    busy_day(tech.hub)
    tech.hub.connected = False
    tech.client.session.cookie_jar.update_cookies({i18n.COOKIE: "zh"})
    _, html = await tech.get("/status")
    assert "最近活动迹象：<b>卧室</b>，" in html and "25 分钟前" in html
    assert "需要立即处理" in html and "未连接照护平台" in html
    assert "（pir-b · 移动）" in html


async def test_a_day_with_nothing_heard_says_so(tech: Page[FakeHub]) -> None:
    _, html = await tech.get("/status")
    assert "No sign of life heard yet." in html and "Nothing heard today yet." in html


async def test_devices_say_their_state_and_are_removed_from_their_own_page(tech: Page[FakeHub]) -> None:
    hub = tech.hub
    cfg = forms.with_item(hub.config, "devices", {"id": "door-back", "protocol": "EV1527", "address": "0e0042",
                                                  "switch": "", "kind": "door", "room": "entrance",
                                                  "name": ""}, None)
    await hub.apply_config(cfg, "test")
    d = hub.registry.devices["door-back"]
    d.last_seen_wall, d.active, d.battery_low = NOW - 60, True, True
    _, html = await tech.get("/devices")
    row = html[html.index("<b>door-back</b>"):]
    row = row[:row.index("</li>")]
    assert row.count(">door-back<") == 1 and "door-back ·" not in row  # no name: the id once, not twice
    assert "open" in row and "low" in row and "unknown" in row  # the door, the battery, no signal reading
    never = html[html.index("<b>sos-bed</b>"):]
    assert "never" in never[:2000] and "Press its button" in never[:2000]
    assert "Remove" not in html  # no red button on every row
    _, form = await tech.get("/devices/sensor?original=door-back")
    assert 'href="/devices/remove?kind=sensor&amp;id=door-back"' in form
    _, confirm = await tech.get("/devices/remove?kind=sensor&id=door-back")
    assert "Yes, remove it" in confirm
    _, new = await tech.get("/devices/sensor")
    assert "/devices/remove" not in new  # nothing to remove before it is added


async def test_the_header_names_the_home_and_the_forms_are_in_the_page_s_language(tech: Page[FakeHub]) -> None:
    cfg = tech.hub.config
    await tech.hub.apply_config(forms.apply(cfg, {"site": {"name": "Mrs Li's flat"}}), "test")
    for path in ("/status", "/devices", "/settings", "/platform", "/alarm"):
        _, html = await tech.get(path)
        header = html[html.index('<header class="top">'):html.index("</header>")]
        assert "Mrs Li&#39;s flat" in header, path
        nav = html[html.index('<nav class="main"'):]
        assert nav.index("/status") < nav.index("/devices") < nav.index("/audit"), path
    _, settings = await tech.get("/settings")
    assert settings.count("<fieldset") == len(DETECTION_SECTIONS) and "<legend>Falls</legend>" in settings
    tech.client.session.cookie_jar.update_cookies({i18n.COOKIE: "zh"})
    _, platform = await tech.get("/platform")
    assert "选择文件…" in platform and "未选择文件" in platform and 'class="file-input"' in platform
    _, settings = await tech.get("/settings")
    assert "（分钟）" in settings and "(min)" not in settings


def test_the_catalogues_carry_the_day_view_words_in_both_languages() -> None:
    en, zh = i18n.catalogue("en"), i18n.catalogue("zh")
    for prefix in ("glance.", "day.", "time.", "learned.", "device.", "weekday.", "month."):
        keys = {k for k in en if k.startswith(prefix)}
        assert keys and keys == {k for k in zh if k.startswith(prefix)}, prefix
    json.dumps(en, ensure_ascii=False)


def test_many_devices_with_the_same_trouble_are_one_reason() -> None:
    s = summary(status(devices=[device(id=f"sos-{i}", last_seen_wall=None) for i in range(6)]))
    assert [r["text"] for r in s["reasons"]] == [
        "6 devices have never been heard: sos-0, sos-1, sos-2, sos-3 and 2 more."]
    zh = summary(status(devices=[device(id=f"sos-{i}", battery_low=True) for i in range(2)]), t=t_zh)
    assert zh["reasons"][0]["text"] == "2 个设备电量低：sos-0、sos-1。"


@pytest.mark.parametrize(("fields", "battery", "signal"), [
    ({}, "unknown", "unknown"), ({"battery_low": False, "rssi": -60.0}, "ok", "ok"),
    ({"battery_low": True, "rssi": -91.0}, "low", "weak"), ({"battery_pct": 12.0}, "low", "unknown"),
    ({"battery_pct": 80.0}, "ok", "unknown"),
])
def test_battery_and_signal_say_ok_low_or_unknown(fields: dict[str, Any], battery: str, signal: str) -> None:
    from gateway.web import device_state

    d = device(battery_low=None) | fields
    assert device_state.battery_state(d) == battery and device_state.signal_state(d) == signal
    cell = device_state.battery(t_en, d)
    assert f'class="ico ico-battery {battery}" role="img" aria-label="Battery"' in cell
    assert device_state.position(t_zh, device(kind="door", active=False)) == '<span class="dstate">关着</span>'
    assert device_state.position(t_en, device(kind="pir", active=True)) == ""


async def test_names_from_the_journal_are_escaped_in_the_drawing(tech: Page[FakeHub]) -> None:
    evil = '<img src=x onerror="alert(1)">'
    tech.hub.activity.add(rows((NOW - 60, evil, "motion", evil, {"active": True}),
                               (NOW - 30, "door", "door", "entrance", {"active": True})))
    tech.hub.timeline_alerts = [{"type": evil, "severity": "urgent", "room": evil, "raised_wall": NOW - 40}]
    _, html = await tech.get("/status")
    assert evil not in html and "onerror=\"alert" not in html
    assert "&lt;img src=x onerror=" in html  # shown, as text
