"""Learn mode that groups, each family added from the page, and the room as a choice.

What the radios hear goes through the real codecs (golden lines and payloads of
each family, the same as their codec tests), the hub's learn store and the kind
guess; the page runs against ``FakeHub`` (tests/unit/fake_hub.py).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.events import Stamp
from drivers.rflink.codec import Heard
from drivers.rtl433.codec import Rtl433Codec
from drivers.zigbee2mqtt.codec import Zigbee2MqttCodec
from gateway.config import validate
from gateway.learn import KEPT, HeardCodes
from gateway.learn_kinds import guess
from gateway.radar_probe import probe, serial_problem
from gateway.web import forms, i18n
from gateway.web.learn_pages import entry_view
from gateway.web.rooms import room_id
from tests.unit.conftest import logged_in
from tests.unit.fake_hub import FakeHub
from tests.unit.test_web import Page

AT = Stamp(100.0, 100.0, True)
KERUI_MOTION = ('{"time" : "2022-03-23 20:11:54.643434", "protocol" : 68, "model" : "Kerui-Security", '
                '"id" : 840811, "cmd" : 10, "motion" : 1, "state" : "motion" }')
HONEYWELL_OPEN = {"time": "2024-01-01 08:00:00", "model": "Honeywell-Security", "id": 123456, "channel": 8,
                  "event": 128, "state": "open", "contact_open": 1, "reed_open": 0, "alarm": 0, "tamper": 0,
                  "battery_ok": 1, "heartbeat": 0, "mic": "CRC"}


def generic(cmd: int) -> str:
    return json.dumps({"time": "2024-01-01 08:00:00", "model": "Generic-Remote", "id": 1234, "cmd": cmd,
                       "tristate": "00ZX0Z1ZZX0X"})


# bridge/devices as Zigbee2MQTT publishes it: generic exposes (type, name, property, access), nested features.
BRIDGE = [
    {"type": "Coordinator", "ieee_address": "0x00124b0000000000", "friendly_name": "Coordinator"},
    {"type": "EndDevice", "ieee_address": "0x01", "friendly_name": "hall pir", "definition": {
        "model": "TS0202", "vendor": "Tuya", "exposes": [
            {"type": "binary", "name": "occupancy", "property": "occupancy", "access": 1},
            {"type": "binary", "name": "battery_low", "property": "battery_low", "access": 1},
            {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}]}},
    {"type": "EndDevice", "ieee_address": "0x02", "friendly_name": "front door", "definition": {
        "model": "MCCGQ11LM", "vendor": "Aqara", "exposes": [
            {"type": "binary", "name": "contact", "property": "contact", "access": 1}]}},
    {"type": "EndDevice", "ieee_address": "0x03", "friendly_name": "sos button", "definition": {
        "model": "BT400B", "vendor": "Tuya", "exposes": [
            {"type": "enum", "name": "action", "property": "action", "access": 1, "values": ["emergency"]}]}},
    {"type": "EndDevice", "ieee_address": "0x04", "friendly_name": "bed mat", "definition": {
        "model": "TS0601_bed_presence_sensor", "vendor": "Tuya", "exposes": [
            {"type": "binary", "name": "presence", "property": "presence", "access": 1}]}},
    {"type": "Router", "ieee_address": "0x05", "friendly_name": "lounge radar", "definition": {
        "model": "TS0601_smart_human_presence_sensor", "vendor": "Tuya", "exposes": [
            {"type": "composite", "name": "radar", "features": [
                {"type": "binary", "name": "presence", "property": "presence", "access": 1},
                {"type": "numeric", "name": "target_distance", "property": "target_distance", "access": 1}]}]}},
]


def zigbee_store() -> HeardCodes:
    store = HeardCodes()
    decoded = Zigbee2MqttCodec([]).decode("zigbee2mqtt/bridge/devices", json.dumps(BRIDGE).encode(), AT)
    assert decoded.bridge_devices is not None
    store.set_bridge_devices(decoded.bridge_devices)
    return store


def rflink(command: str, address: str = "0e0042", switch: str = "0a") -> Heard:
    return Heard("EV1527", address, switch, command, None, None)


# --- grouping --------------------------------------------------------------------------------


def test_one_entry_per_device_with_its_count_codes_and_bursts_folded() -> None:
    store = HeardCodes()
    for wall in (1000.0, 1000.3, 1000.6):  # one press: a burst of three copies
        store.add(rflink("ON"), wall)
    store.add(rflink("OFF"), 1010.0)
    store.add(rflink("ON"), 1020.0)
    store.add(rflink("ON", address="0c0009", switch=""), 1030.0)
    rows = store.since(0)
    assert [r["address"] for r in rows] == ["0e0042", "0c0009"]
    door = rows[0]
    assert door["count"] == 3 and door["wall"] == 1020.0 and door["family"] == "rflink"
    assert {c["code"]: c["count"] for c in door["codes"]} == {"ON": 2, "OFF": 1}
    # Only what changed after the page's last look.
    seq = store.seq
    store.add(rflink("ON", address="0c0009", switch=""), 1040.0)
    assert [r["address"] for r in store.since(seq)] == ["0c0009"]


def test_the_store_is_bounded_whatever_the_radio_hears() -> None:
    store = HeardCodes()
    for i in range(KEPT * 3):
        store.add(rflink("ON", address=f"{i:06x}"), 1000.0 + i)
        store.add(rflink(f"CMD{i}", address="0e0042"), 1000.0 + i)  # one sender, ever new codes
    rows = store.since(0)
    assert len(rows) == KEPT
    assert all(len(r["codes"]) <= 16 for r in rows)
    assert rows[-1]["address"] == f"{KEPT * 3 - 1:06x}"  # the newest are kept


def test_a_transmission_learn_mode_cannot_read_is_counted_not_raised() -> None:
    store = HeardCodes()
    store.add(Heard("EV1527", None, "", "ON", None, None), 1000.0)  # type: ignore[arg-type]
    assert store.failed == 1 and store.since(0) == []
    store.add(rflink("ON"), 1001.0)
    assert len(store.since(0)) == 1


# --- kind guesses per family, from golden inputs ---------------------------------------------


def test_rflink_door_contact_is_not_a_motion_sensor() -> None:
    door, pir, once = HeardCodes(), HeardCodes(), HeardCodes()
    door.add(rflink("ON"), 1000.0)
    door.add(rflink("OFF"), 1005.0)
    for wall in (1000.0, 1030.0, 1060.0):
        pir.add(rflink("ON"), wall)
    once.add(rflink("ON"), 1000.0)
    assert guess(door.since(0)[0]).kind == "door"
    assert (guess(pir.since(0)[0]).kind, guess(pir.since(0)[0]).values) == ("pir", {"count": 3})
    assert guess(once.since(0)[0]).kind is None  # a PIR or a help button: press it again


def test_rtl433_known_models_say_what_they_are_and_generic_codes_are_counted() -> None:
    codec, store = Rtl433Codec([]), HeardCodes()
    for raw in (KERUI_MOTION, json.dumps(HONEYWELL_OPEN)):
        heard = codec.decode(raw, AT).heard
        assert heard is not None
        store.add(heard, 1000.0)
    kerui, honeywell = store.since(0)
    assert guess(kerui).kind == "pir" and guess(honeywell).kind == "door"
    assert "contact_open" in honeywell["meaning"] and honeywell["channel"] == "8"
    generic_store = HeardCodes()
    first = codec.decode(generic(10), AT).heard
    assert first is not None
    generic_store.add(first, 1000.0)
    assert guess(generic_store.since(0)[0]).reason == "generic"
    second = codec.decode(generic(14), AT).heard
    assert second is not None
    generic_store.add(second, 1010.0)
    assert guess(generic_store.since(0)[0]).kind == "door"  # two codes: open and close


def test_zigbee_kinds_from_the_bridge_device_list_and_from_heard_messages() -> None:
    store = zigbee_store()
    rows = {r["friendly_name"]: r for r in store.since(0)}
    assert {name: guess(r).kind for name, r in rows.items()} == {
        "hall pir": "pir", "front door": "door", "sos button": "sos", "bed mat": "bed", "lounge radar": "presence"}
    assert rows["lounge radar"]["bridge"]["exposes"] == ["radar", "presence", "target_distance"]
    assert all(r["count"] == 0 for r in rows.values())  # paired, not heard yet
    # A device not in the list, heard: its message's fields say it.
    heard = Zigbee2MqttCodec([]).decode("zigbee2mqtt/new contact", b'{"contact": false, "battery": 90}', AT).heard
    assert heard is not None and heard.fields == ("contact", "battery")
    store.add(heard, 1000.0)
    new = next(r for r in store.since(0) if r["friendly_name"] == "new contact")
    assert new["count"] == 1 and guess(new).kind == "door"


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                         max_size=4), max_leaves=12)
FIELDS = st.sampled_from(["model", "id", "cmd", "state", "channel", "subtype", "contact_open", "motion", "alarm",
                          "occupancy", "contact", "action", "presence", "sos", "battery", "exposes", "x"])


@settings(max_examples=150, deadline=None)
@given(rtl=st.dictionaries(FIELDS, JSON_VALUES, max_size=8), zig=st.dictionaries(FIELDS, JSON_VALUES, max_size=8),
       bridge=st.lists(st.dictionaries(st.sampled_from(["friendly_name", "type", "definition", "ieee_address"]),
                                       JSON_VALUES, max_size=4), max_size=4))
def test_whatever_the_radios_hear_the_learn_list_is_made(rtl: dict[str, Any], zig: dict[str, Any],
                                                         bridge: list[Any]) -> None:
    store = HeardCodes()
    rtl.setdefault("model", "Generic-Remote")
    rtl.setdefault("id", 1)
    heard = Rtl433Codec([]).decode(json.dumps(rtl, default=str), AT).heard
    if heard is not None:
        store.add(heard, 1000.0)
    codec = Zigbee2MqttCodec([])
    z = codec.decode("zigbee2mqtt/some device", json.dumps(zig, default=str).encode(), AT).heard
    if z is not None:
        store.add(z, 1001.0)
    listing = codec.decode("zigbee2mqtt/bridge/devices", json.dumps(bridge, default=str).encode(), AT)
    if listing.bridge_devices is not None:
        store.set_bridge_devices(listing.bridge_devices)
    cfg = validate({})
    for entry in store.since(0):
        guess(entry)
        entry_view(lambda key, **kw: i18n.translate("en", key, **kw), cfg, entry)


# --- rooms --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "expected"), [
    ("Guest room", "guest_room"), ("  Küche ", "kuche"), ("2nd bedroom", "room_2nd_bedroom"),
    ("keting", "keting"), ("客房", None), ("", None), ("x" * 80, "x" * 32)])
def test_a_new_room_typed_in_words_becomes_an_id(typed: str, expected: str | None) -> None:
    assert room_id(typed) == expected


@pytest.fixture
async def tech(tmp_path: Path) -> AsyncIterator[Page[FakeHub]]:
    async with logged_in(tmp_path, zigbee2mqtt={"enabled": True}, rtl433={"enabled": True}) as page:
        yield page


SENSOR = {"id": "door-back", "name": "", "kind": "door", "protocol": "EV1527", "address": "0e0042",
          "switch": "0a", "offline_after_s": "0", "original": ""}


async def test_the_room_is_chosen_from_the_known_rooms_or_typed_as_words(tech: Page[FakeHub]) -> None:
    _, text = await tech.get("/devices/sensor?protocol=EV1527&address=0e0042&switch=0a&kind=door")
    assert re.search(r'<select id="f-room" name="room"', text)
    assert '<option value="bathroom"' in text and '<option value="_new"' in text
    assert re.search(r'<option value="door"\s+selected', text)  # the guessed kind
    status, _ = await tech.post("/devices/sensor", {**SENSOR, "room": "_new", "room_new": "Guest room"})
    assert status == 200 and tech.hub.config.devices[-1].room == "guest_room"
    # The new room is offered from now on.
    _, text = await tech.get("/devices/sensor")
    assert '<option value="guest_room"' in text
    status, text = await tech.post("/devices/sensor", {**SENSOR, "id": "door-2", "address": "0e0043",
                                                       "room": "_new", "room_new": "客房"})
    assert status == 400 and "Latin letters" in text and len(tech.hub.config.devices) == 2
    status, text = await tech.post("/devices/sensor", {**SENSOR, "id": "door-2", "address": "0e0043", "room": ""})
    assert status == 400 and 'aria-invalid="true"' in text


# --- learn and add each family from the page --------------------------------------------------


async def test_learn_shows_one_entry_per_device_with_its_guess_and_adds_an_rflink_door(
        tech: Page[FakeHub]) -> None:
    _, text = await tech.get("/devices/learn")
    start = int(re.search(r'data-start="(\d+)"', text).group(1))  # type: ignore[union-attr]
    for wall, command in ((1000.0, "ON"), (1000.4, "ON"), (1005.0, "OFF"), (1010.0, "ON")):
        tech.hub.hear(rflink(command), time.time() - 1100 + wall)
    _, part = await tech.get(f"/devices/learn?part=groups&start={start}")
    assert part.count("<li") == 1 and "EV1527 0e0042 / 0a" in part
    assert "heard 3 times" in part and "ON ×2, OFF ×1" in part and "Probably: Door contact" in part
    _, zh = await tech.get(f"/devices/learn?part=groups&start={start}", headers={"Accept-Language": "zh"})
    assert "收到 3 次" in zh and "可能是：门磁" in zh
    add = re.search(r'href="(/devices/sensor\?[^"]+)"', part).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert "kind=door" in add
    status, _ = await tech.post("/devices/sensor", {**SENSOR, "room": "entrance"})
    assert status == 200
    _, part = await tech.get(f"/devices/learn?part=groups&start={start}")
    assert "already added as door-back" in part


async def test_a_zigbee_device_from_the_bridge_list_is_added_with_its_friendly_name(tech: Page[FakeHub]) -> None:
    decoded = Zigbee2MqttCodec([]).decode("zigbee2mqtt/bridge/devices", json.dumps(BRIDGE).encode(), AT)
    assert decoded.bridge_devices is not None
    lamp_entry = {"type": "Router", "ieee_address": "0x06", "friendly_name": "lounge lamp", "definition": {
        "model": "LED1545G12", "vendor": "IKEA", "exposes": [{"type": "light", "features": [
            {"type": "binary", "name": "state", "property": "state", "access": 7}]}]}}
    lamp = Zigbee2MqttCodec([]).decode("zigbee2mqtt/bridge/devices", json.dumps([*BRIDGE, lamp_entry]).encode(), AT)
    assert lamp.bridge_devices is not None and len(lamp.bridge_devices) == len(decoded.bridge_devices) + 1
    tech.hub.pair_zigbee(lamp.bridge_devices)
    _, text = await tech.get("/devices/learn")
    assert "paired with Zigbee2MQTT" in text and "hall pir (Tuya TS0202)" in text
    assert "lounge lamp" not in text  # nothing carehub reads
    add = re.search(r'href="(/devices/zigbee\?friendly_name=hall\+pir[^"]*)"', text)
    assert add is not None and "kind=pir" in add.group(1)
    _, form = await tech.get(add.group(1).replace("&amp;", "&"))
    assert 'value="hall pir"' in form and re.search(r'<option value="pir"\s+selected', form)
    assert 'value="emergency, sos, panic"' in form  # a button added from the page is a help button by default
    status, _ = await tech.post("/devices/zigbee", {"id": "pir-hall", "name": "", "friendly_name": "hall pir",
                                                    "kind": "pir", "room": "hall", "help_actions": "emergency, sos",
                                                    "cancel_actions": "", "offline_after_s": "0", "original": ""})
    assert status == 200
    saved = tech.saved()["zigbee_devices"]
    assert saved[0]["friendly_name"] == "hall pir" and saved[0]["help_actions"] == ["emergency", "sos"]
    # The same friendly name twice is refused by the schema, next to the field.
    status, text = await tech.post("/devices/zigbee", {"id": "pir-2", "friendly_name": "hall pir", "kind": "pir",
                                                       "room": "hall", "original": ""})
    assert status == 400 and len(tech.hub.config.zigbee_devices) == 1
    _, text = await tech.get("/devices/learn")
    assert "hall pir (Tuya TS0202)" not in text  # added: no longer offered
    # Edited and removed from its own page, like an RFLink sensor.
    _, text = await tech.get("/devices/zigbee?original=pir-hall")
    assert 'value="hall pir"' in text and "/devices/remove?kind=zigbee&amp;id=pir-hall" in text
    status, text = await tech.get("/devices/remove?kind=zigbee&id=pir-hall")
    assert status == 200 and "pir-hall" in text


async def test_a_generic_433_code_is_learnt_in_steps_then_added_with_its_codes(tech: Page[FakeHub]) -> None:
    codec = Rtl433Codec([])

    def send(cmd: int) -> None:
        heard = codec.decode(generic(cmd), AT).heard
        assert heard is not None
        tech.hub.hear(heard)

    _, text = await tech.get("/devices/learn")
    start = int(re.search(r'data-start="(\d+)"', text).group(1))  # type: ignore[union-attr]
    send(10)
    _, part = await tech.get(f"/devices/learn?part=groups&start={start}")
    steps = re.search(r'href="(/devices/rtl433/codes\?[^"]+)"', part)
    assert steps is not None and "Learn its codes and add it" in part
    status, text = await tech.get(steps.group(1).replace("&amp;", "&"))
    assert status == 200 and 'name="kind"' in text
    since = re.search(r'name="since" value="(\d+)"', text).group(1)  # type: ignore[union-attr]

    def step(since: str, rest: str) -> str:
        return ("/devices/rtl433/codes?model=Generic-Remote&address=1234&channel=&subtype=&kind=door"
                f"&since={since}&{rest}")

    _, text = await tech.get(step(since, "step=active"))
    assert "Open the door now" in text
    _, text = await tech.get(step(since, "step=active&done=active"))
    assert "Nothing heard from 1234 yet" in text  # nothing sent since the step began
    send(10)
    _, text = await tech.get(step(since, "step=active&done=active"))
    assert "Noted: code 10" in text and "Now close it" in text
    since = re.search(r'name="since" value="(\d+)"', text).group(1)  # type: ignore[union-attr]
    send(10)  # the door opened again: not the closing code
    r = await tech.client.get(step(since, "step=inactive&active=10&done=inactive"), allow_redirects=False)
    assert r.status == 200 and "Only the first code again" in await r.text()
    send(14)
    r = await tech.client.get(step(since, "step=inactive&active=10&done=inactive"), allow_redirects=False)
    assert r.status == 303
    assert "active_codes=10" in r.headers["Location"] and "inactive_codes=14" in r.headers["Location"]
    _, form = await tech.get(r.headers["Location"])
    assert 'value="10"' in form and 'value="14"' in form and 'value="Generic-Remote"' in form
    status, _ = await tech.post("/devices/rtl433", {
        "id": "door-kitchen", "name": "", "room": "kitchen", "kind": "door", "model": "Generic-Remote",
        "address": "1234", "channel": "", "subtype": "", "active_codes": "10", "inactive_codes": "14",
        "offline_after_s": "0", "original": ""})
    assert status == 200
    saved = tech.saved()["rtl433_devices"][0]
    assert (saved["active_codes"], saved["inactive_codes"], saved["room"]) == (["10"], ["14"], "kitchen")


async def test_a_radar_found_on_a_port_is_added_with_its_model(tech: Page[FakeHub]) -> None:
    tech.hub.radar_answer = {"model": "ld2410", "frames": 3, "error": None, "problem": None}
    await tech.get("/devices/learn")
    status, text = await tech.post("/devices/learn/radar", {"port": "/dev/ttyUSB7"})
    assert status == 200 and tech.hub.radar_probes == ["/dev/ttyUSB7"]
    assert "Hi-Link LD2410 (presence) answered on /dev/ttyUSB7." in text
    add = re.search(r'href="(/devices/radar\?[^"]+)"', text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    _, form = await tech.get(add)
    assert re.search(r'<option value="ld2410"\s+selected', form) and 'value="/dev/ttyUSB7"' in form
    status, _ = await tech.post("/devices/radar", {"id": "radar-bath", "name": "", "room": "bathroom",
                                                   "model": "ld2410", "port": "/dev/ttyUSB7", "still_alert_min": "",
                                                   "cancel_window_s": "", "offline_after_s": "300", "original": ""})
    assert status == 200 and tech.saved()["radars"][0]["port"] == "/dev/ttyUSB7"
    tech.hub.radar_answer = {"model": None, "frames": 0, "error": None, "problem": "not_serial"}
    _, text = await tech.post("/devices/learn/radar", {"port": "/etc/passwd"})
    assert "/etc/passwd is not a serial port." in text
    # Removed like any device.
    status, _ = await tech.post("/devices/remove", {"kind": "radar", "id": "radar-bath"})
    assert status == 200 and "radars" not in tech.saved()


def test_every_new_form_field_has_its_words_in_both_languages() -> None:
    en, zh = i18n.catalogue("en"), i18n.catalogue("zh")
    assert set(en) == set(zh)
    for f in forms.ZIGBEE_FIELDS + forms.RTL433_FIELDS + forms.RADAR_FIELDS:
        assert f"field.{f.path}.label" in en, f.path
        if f.pattern and f.kind == "text":
            assert f"field.{f.path}.format" in en, f.path
        for c in f.choices:
            assert f"choice.{f.path.split('.')[-1]}.{c}" in en, (f.path, c)


# --- the radar probe on real serial lines ------------------------------------------------------


# Hi-Link's basic-mode example frame (docs/radar.md): moving target at 0.81 m.
LD2410_BASIC = bytes.fromhex("F4 F3 F2 F1 0D 00 02 AA 02 51 00 00 00 00 3B 00 00 55 00 F8 F7 F6 F5")


def test_only_serial_ports_are_probed(tmp_path: Path) -> None:
    plain = tmp_path / "file"
    plain.write_text("x")
    assert serial_problem(str(plain)) == "not_serial"
    assert serial_problem("/dev/null") == "not_serial"  # a character device, not a serial line
    assert serial_problem(str(tmp_path / "absent")) == "missing"
    assert serial_problem("relative/path") == "not_serial"
    main, sub = os.openpty()
    try:
        name = os.ttyname(sub)
        assert serial_problem(name) is None
        assert serial_problem(name, in_use=[name]) == "in_use"
    finally:
        os.close(main)
        os.close(sub)


def test_an_ld2410_on_a_pseudo_terminal_is_recognised() -> None:
    main, sub = os.openpty()
    stop = threading.Event()

    def radar() -> None:  # ten reports a second, as the module sends them
        while not stop.is_set():
            try:
                os.write(main, LD2410_BASIC)
            except OSError:
                return
            time.sleep(0.1)

    sender = threading.Thread(target=radar, daemon=True)
    sender.start()
    try:
        result: dict[str, Any] = probe(os.ttyname(sub))
        assert result["model"] == "ld2410" and result["frames"] >= 2
        assert probe(os.ttyname(sub), models=("mr60fda2",))["model"] is None  # not that model's frames
    finally:
        stop.set()
        sender.join(2)
        os.close(main)
        os.close(sub)


async def test_learn_pages_render_in_both_languages_and_refuse_forgeries(tech: Page[FakeHub]) -> None:
    tech.hub.hear(rflink("ON"))
    codec = Rtl433Codec([])
    heard = codec.decode(generic(10), AT).heard
    assert heard is not None
    tech.hub.hear(heard)
    pages = ["/devices/learn", "/devices/learn?part=groups&start=0", "/devices/zigbee", "/devices/rtl433",
             "/devices/radar", "/devices/rtl433/codes?model=Generic-Remote&address=1234",
             "/devices/rtl433/codes?model=Generic-Remote&address=1234&kind=pir&step=active&since=0",
             "/devices/rtl433/codes?model=Generic-Remote&address=1234&kind=door&step=inactive&since=0&active=10"]
    for lang in ("en", "zh"):
        for path in pages:
            status, text = await tech.get(path, headers={"Accept-Language": lang})
            assert status == 200, (lang, path)
            assert not re.search(r">\s*(learn|field|choice|form|audit)\.[a-z_.]+", text), (lang, path)
    # Hostile query values: bounded, escaped, never an error page.
    status, text = await tech.get("/devices/rtl433/codes?model=<script>x</script>&address=" + "9" * 500
                                  + "&kind=<b>&since=abc&step=zzz&done=inactive&active=" + ",".join("a" * 50))
    assert status == 200 and "<script>x" not in text and "9" * 65 not in text
    status, _ = await tech.get("/devices/learn?start=-5&part=groups")
    assert status == 200
    status, _ = await tech.get("/devices/zigbee?kind=<script>&friendly_name=" + "x" * 500)
    assert status == 200
    # Every change needs the session's CSRF token.
    for path in ("/devices/learn/radar", "/devices/zigbee", "/devices/rtl433", "/devices/radar"):
        status, _ = await tech.post(path, {"port": "/dev/ttyUSB0", "id": "x"}, csrf=False)
        assert status == 403, path
    assert tech.hub.radar_probes == [] and tech.hub.applied == []


async def test_the_devices_page_lists_every_family_with_its_edit_page(tmp_path: Path) -> None:
    families = {"zigbee_devices": [{"id": "hall-pir", "friendly_name": "hall pir", "kind": "pir", "room": "hall"}],
                "rtl433_devices": [{"id": "door-balcony", "model": "Kerui-Security", "address": "0x1a2b",
                                    "kind": "door", "room": "living"}],
                "radars": [{"id": "radar-bath", "model": "ld2410", "port": "/dev/ttyUSB0", "room": "bathroom"}]}
    async with logged_in(tmp_path, **families) as page:
        _, text = await page.get("/devices")
        assert "Zigbee, rtl_433 and radar sensors" in text
        for href in ("/devices/zigbee?original=hall-pir", "/devices/rtl433?original=door-balcony",
                     "/devices/radar?original=radar-bath"):
            assert f'href="{href}"' in text
        assert "Zigbee2MQTT hall pir" in text and "rtl_433 Kerui-Security 0x1a2b" in text
        assert "ld2410 · /dev/ttyUSB0" in text and "Presence radar" in text
    async with logged_in(tmp_path / "none") as page:
        _, text = await page.get("/devices")
        assert "Zigbee, rtl_433 and radar sensors" not in text  # no empty card for families the home lacks
