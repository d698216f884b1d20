"""The technician's page end to end, in a real headless Chromium.

Debian's ``/usr/bin/chromium`` driven by Playwright (``executable_path``: no
browser is ever downloaded), against the real daemon with a real mosquitto, an
RFLink gateway on a pseudo-terminal, emulated wearables and the platform
emulator. The walk is what an installer does: set the password with the setup
code, log in, learn a sensor, add a wearable found by scanning, change an
inactivity limit, send a test alarm and see the platform acknowledge it.

Screenshots of every page at phone (360 px) and desktop widths are written to
``test-artifacts/screenshots`` (or ``$CAREHUB_ARTIFACTS/screenshots``); with
``CAREHUB_UPDATE_SCREENSHOTS=1`` they also replace the ones in
``docs/screenshots``.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.broker import Mosquitto, free_port
from simulators.platform import PlatformEmulator
from simulators.rflink import RadioCode, RflinkEmulator
from simulators.wearable import VirtualWearable, WearableEmulator
from tests.conftest import REPO, Daemon, hub_config

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google from a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "installer-pass-2026"
NEW_DOOR = RadioCode("EV1527", "0e0042", "")
PENDANT = "C0:FF:EE:00:00:01"


# Made for phones, checked on every page at 360 px: nothing wider than the screen, a label on every
# control, and touch targets of at least 44 px (WCAG 2.5.5).
PHONE_CHECKS = """() => {
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push("wider than the screen: " + document.documentElement.scrollWidth + " px");
  }
  const visible = (el) => el.offsetParent !== null;
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (visible(el) && el.labels.length === 0 && !el.getAttribute("aria-label")) {
      problems.push("no label: " + (el.name || el.id));
    }
  }
  for (const el of document.querySelectorAll("button, a.button, nav a, input[type=checkbox], input[type=file]")) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    const target = el.type === "checkbox" ? el.closest("label").getBoundingClientRect() : r;
    if (target.height < 44) problems.push("small target: " + (el.textContent.trim() || el.name) + " " + target.height);
  }
  return problems;
}"""


class Shots:
    """Screenshots at both widths, named by page."""

    def __init__(self, page: Any) -> None:
        self.page = page
        base = Path(os.environ.get("CAREHUB_ARTIFACTS", REPO / "test-artifacts"))
        self.dir = base / "screenshots"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, name: str) -> None:
        self.page.wait_for_load_state()  # after a click on a link: the new page with its stylesheet
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            self.page.set_viewport_size(size)
            if label == "phone":
                assert not (problems := self.page.evaluate(PHONE_CHECKS)), (name, problems)
            path = self.dir / f"{name}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
            self.taken.append(path)
        self.page.set_viewport_size(PHONE)

    def publish(self) -> None:
        if os.environ.get("CAREHUB_UPDATE_SCREENSHOTS") == "1":
            docs = REPO / "docs" / "screenshots"
            docs.mkdir(exist_ok=True)
            for path in self.taken:
                shutil.copy(path, docs / path.name)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command, which installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_hub(tmp_path: Path, mosquitto: Mosquitto, rflink: RflinkEmulator, platform: PlatformEmulator,
             daemon_factory: Callable[..., Daemon]) -> Iterator[tuple[Daemon, str, WearableEmulator]]:
    wearables = WearableEmulator(tmp_path / "wearables.sock", [VirtualWearable(PENDANT, "carehub pendant")]).start()
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link,
                     web={"enabled": True, "bind": "127.0.0.1", "port": port},
                     ble={"enabled": True, "emulator_socket": str(tmp_path / "wearables.sock")})
    d = daemon_factory(cfg).start()
    d.wait_event("web.listening", timeout=10)
    yield d, f"http://127.0.0.1:{port}", wearables
    wearables.stop()


def test_an_installer_sets_up_a_hub_from_the_page(browser: Any, page_hub: tuple[Daemon, str, WearableEmulator],
                                                   rflink: RflinkEmulator, platform: PlatformEmulator,
                                                   tmp_path: Path) -> None:
    from playwright.sync_api import expect

    daemon, base, _ = page_hub
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = Shots(page)
    console_errors: list[str] = []
    # The refused settings form answers 400 on purpose; anything else in the console is a fault of the page.
    page.on("console", lambda m: console_errors.append(m.text)
            if m.type == "error" and "status of 400" not in m.text else None)

    # First run: the setup code as `carehub setup-code` reads it (the log only says where it is).
    daemon.wait_event("web.setup_code")
    code = (tmp_path / "state" / "web-setup-code").read_text().strip()
    page.goto(base + "/")
    expect(page).to_have_url(base + "/setup")
    shots("setup")
    page.get_by_label("Setup code").fill(code.lower())
    page.get_by_label("New technician password").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Set password and continue").click()
    expect(page.get_by_role("heading", name="Hub status")).to_be_visible()
    expect(page.locator("#live-state")).to_contain_text("Live")
    expect(page.locator("#summary")).to_contain_text("Connected")

    # Learn a sensor: the installer presses its button, the page shows what was heard.
    page.get_by_role("link", name="Devices").click()
    page.get_by_role("link", name="Learn a sensor").click()
    expect(page.locator("#learn-state")).to_be_visible()
    page.wait_for_timeout(300)
    rflink.frame(NEW_DOOR, "ON")
    heard = page.locator("#heard li", has_text="0e0042")
    expect(heard).to_be_visible()
    shots("learn")
    heard.get_by_role("link", name="Add this sensor").click()
    expect(page.get_by_label("Radio address")).to_have_value("0e0042")
    page.get_by_label("Device id").fill("door-back")
    page.get_by_label("Name", exact=True).fill("Back door")
    page.get_by_label("Room", exact=True).select_option("kitchen")
    page.get_by_label("What it is").select_option("door")
    shots("sensor-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved and applied.")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Back door")
    # Applied live: the next press is an observation of door-back, shown on the status page as it happens.
    page.get_by_role("link", name="Status").click()
    expect(page.locator("#live-state")).to_contain_text("Live")
    rflink.frame(NEW_DOOR, "ON")
    expect(page.locator("#events li", has_text="door-back").first).to_be_visible()
    shots("status")

    # A wearable found by scanning.
    page.get_by_role("link", name="Devices").click()
    page.get_by_role("button", name="Scan for wearables").click()
    found = page.locator("#scan-results li", has_text=PENDANT)
    expect(found).to_be_visible(timeout=20_000)
    shots("devices-scan")
    found.get_by_role("link", name="Add this wearable").click()
    expect(page.get_by_label("Radio address")).to_have_value(PENDANT)
    page.get_by_label("Device id").fill("pendant")
    page.get_by_label("Worn at").select_option("neck")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("pendant")
    daemon.wait_event("ble.connected", timeout=20, where=lambda e: e.get("wearable") == "pendant")
    shots("devices")

    # Change an inactivity limit: a wrong value is refused next to its field, a right one saved and applied.
    page.get_by_role("link", name="Detection").click()
    floor = page.get_by_label("Inactivity: never sooner than")
    floor.fill("5")
    # The browser's own range check would stop the form; the hub's must hold without it.
    page.locator("main form").evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field.invalid")).to_contain_text("Must be a number from 10 to 1440 min")
    shots("settings-error")
    # Two values each fine alone but contradicting each other: refused on both fields, naming the other.
    page.get_by_label("Inactivity: never sooner than").fill("300")
    page.get_by_label("Inactivity: always by").fill("200")
    page.get_by_role("button", name="Save").click()
    invalid = page.locator(".field.invalid")
    expect(invalid).to_have_count(2)
    expect(invalid.filter(has_text="Must not be more than “Inactivity: always by”")).to_have_count(1)
    expect(invalid.filter(has_text="Must not be less than “Inactivity: never sooner than”")).to_have_count(1)
    page.get_by_label("Inactivity: always by").fill("240")
    page.get_by_label("Inactivity: never sooner than").fill("50")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved and applied.")).to_be_visible()
    shots("settings")
    saved = tomllib.loads((tmp_path / "carehub.toml").read_text())
    assert saved["detection"]["home"]["inactivity_floor_min"] == 50
    assert [d["id"] for d in saved["devices"]][-1] == "door-back"
    assert saved["wearables"][0]["placement"] == "neck"
    daemon.wait_event("config.applied", where=lambda e: "detection.home.inactivity_floor_min" in e["changed"])

    # The platform connection: test what is in the form.
    page.get_by_role("link", name="Platform").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#probe")).to_contain_text("Connection works")
    shots("platform")

    # A test alarm through the real path, acknowledged by the platform emulator.
    page.get_by_role("link", name="Test alarm").click()
    page.get_by_role("button", name="Send test alarm").click()
    expect(page.locator("#alarm-ack")).to_contain_text("Acknowledged by the platform", timeout=20_000)
    shots("alarm")
    tests = [a for a in platform.alerts_of("test") if a.get("test")]
    assert tests, "the platform received an alert flagged test"

    page.get_by_role("link", name="Changes").click()
    expect(page.locator("main")).to_contain_text("Inactivity: never sooner than 45 → 50 min")
    shots("audit")

    # Remove the sensor cleanly: from its own page, then a confirmation (no Remove button on every row).
    page.get_by_role("link", name="Devices").click()
    page.locator("li", has_text="Back door").get_by_role("link", name="Edit").click()
    page.get_by_role("link", name="Remove this device").click()
    expect(page.get_by_role("button", name="Yes, remove it")).to_be_visible()
    page.wait_for_load_state()
    shots("remove")
    page.get_by_role("button", name="Yes, remove it").click()
    expect(page.locator("main")).not_to_contain_text("Back door")

    # Log out and in again; then the same page in Chinese.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(base + "/login")
    shots("login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hub status")).to_be_visible()
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="网关状态")).to_be_visible()
    shots("status-zh")
    page.get_by_role("link", name="检测设置").click()
    shots("settings-zh")

    assert not console_errors, console_errors
    shots.publish()
    context.close()


# --- learn mode that groups, each family added, and the changes read back (issue 18 items 3-4, issue 15 item 6)

LEARN_DOOR = RadioCode("EV1527", "0e0077", "0a")
LEARN_PIR = RadioCode("EV1527", "0c0042", "")


def _log_in_first_time(page: Any, base: str, daemon: Daemon, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    daemon.wait_event("web.setup_code")
    code = (tmp_path / "state" / "web-setup-code").read_text().strip()
    page.goto(base + "/setup")
    page.get_by_label("Setup code").fill(code)
    page.get_by_label("New technician password").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Set password and continue").click()
    expect(page.get_by_role("heading", name="Hub status")).to_be_visible()


def _watch_console(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def _next_until(page: Any, done: Callable[[], bool], tries: int = 10) -> None:
    """Press "Done, next" until the step moved on: the hub may not have heard the code yet when it is
    pressed (the page then says so and asks again, as it would an installer who pressed too soon)."""
    for _ in range(tries):
        page.get_by_role("button", name="Done, next").click()
        page.wait_for_load_state()
        if done():
            return
        page.wait_for_timeout(300)
    raise AssertionError("the step never moved on")


def _rtl433_event(port: int, event: dict[str, Any]) -> None:
    """What ``rtl_433 -F mqtt`` publishes for one decoded transmission (docs/rtl433.md)."""
    import json

    import paho.mqtt.publish as publish

    publish.single("rtl_433/hub/events", json.dumps({"time": "2026-01-01 08:00:00", **event}), qos=1,
                   hostname="127.0.0.1", port=port)


def test_learn_groups_what_it_hears_and_adds_each_family(browser: Any, tmp_path: Path, mosquitto: Mosquitto,
                                                         rflink: RflinkEmulator, platform: PlatformEmulator,
                                                         daemon_factory: Callable[..., Daemon]) -> None:
    from playwright.sync_api import expect

    from simulators.radar import RadarEmulator
    from simulators.zigbee2mqtt import Zigbee2MqttEmulator

    zigbee = Zigbee2MqttEmulator("127.0.0.1", mosquitto.port).start()
    zigbee.add("hall pir", "pir")  # paired with the coordinator, in the retained bridge/devices list
    radar = RadarEmulator(tmp_path / "serial-by-id-radar", "ld2410").start()
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link, web={"enabled": True, "bind": "127.0.0.1", "port": port},
                     zigbee2mqtt={"enabled": True, "host": "127.0.0.1", "port": mosquitto.port},
                     rtl433={"enabled": True, "source": "mqtt", "host": "127.0.0.1", "port": mosquitto.port})
    daemon = daemon_factory(cfg).start()
    daemon.wait_event("web.listening", timeout=10)
    daemon.wait_event("zigbee2mqtt.bridge_devices", timeout=10)
    daemon.wait_event("rtl433.mqtt_connected", timeout=10)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = Shots(page)
    console_errors = _watch_console(page)
    try:
        _log_in_first_time(page, base, daemon, tmp_path)
        page.goto(base + "/devices/learn")
        expect(page.locator("#heard")).to_contain_text("paired with Zigbee2MQTT")
        page.wait_for_timeout(300)
        # A door opened and closed, a PIR that saw movement twice, a generic code and a known model.
        rflink.frame(LEARN_DOOR, "ON", repeats=3)
        rflink.frame(LEARN_DOOR, "OFF", repeats=3)
        rflink.frame(LEARN_PIR, "ON", repeats=2)
        page.wait_for_timeout(1700)  # two transmissions, not one burst
        rflink.frame(LEARN_PIR, "ON", repeats=2)
        _rtl433_event(mosquitto.port, {"model": "Generic-Remote", "id": 1234, "cmd": 10, "tristate": "00ZX0Z1ZZX0X"})
        _rtl433_event(mosquitto.port, {"model": "Kerui-Security", "id": 840811, "cmd": 10, "motion": 1,
                                       "state": "motion"})
        door = page.locator("#heard li", has_text="EV1527 0e0077 / 0a")
        expect(door).to_contain_text("heard 2 times")
        expect(door).to_contain_text("Probably: Door contact")
        pir = page.locator("#heard li", has_text="EV1527 0c0042")
        expect(pir).to_contain_text("Probably: Motion sensor")
        expect(page.locator("#heard li", has_text="Kerui-Security 840811")).to_contain_text("Motion sensor")
        expect(page.locator("#heard li", has_text="Generic-Remote 1234")).to_contain_text("Learn its codes")
        expect(page.locator("#heard li", has_text="hall pir")).to_contain_text("Probably: Motion sensor")
        assert page.locator("#heard li", has_text="EV1527 0e0077").count() == 1  # one entry, not six rows
        shots("learn")

        # The RFLink door: the kind comes guessed, the room is a choice.
        door.get_by_role("link", name="Add this sensor").click()
        expect(page.get_by_label("What it is")).to_have_value("door")
        page.get_by_label("Device id").fill("door-back")
        page.get_by_label("Room", exact=True).select_option("entrance")
        shots("sensor-form")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved and applied.")).to_be_visible()

        # The Zigbee PIR from Zigbee2MQTT's device list.
        page.goto(base + "/devices/learn")
        page.locator("#heard li", has_text="hall pir").get_by_role("link", name="Add this sensor").click()
        expect(page.get_by_label("Name in Zigbee2MQTT")).to_have_value("hall pir")
        page.get_by_label("Device id").fill("pir-hall")
        page.get_by_label("Room", exact=True).select_option("hall")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved and applied.")).to_be_visible()

        # The generic 433 MHz door: its two codes learnt in steps.
        page.goto(base + "/devices/learn")
        _rtl433_event(mosquitto.port, {"model": "Generic-Remote", "id": 1234, "cmd": 10, "tristate": "00ZX0Z1ZZX0X"})
        page.locator("#heard li", has_text="Generic-Remote 1234").get_by_role("link", name="Learn its codes").click()
        page.get_by_label("What it is").select_option("door")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#step-now")).to_contain_text("Open the door now")
        shots("learn-steps")
        _rtl433_event(mosquitto.port, {"model": "Generic-Remote", "id": 1234, "cmd": 10, "tristate": "00ZX0Z1ZZX0X"})
        _next_until(page, lambda: "Now close it" in page.locator("#step-now").inner_text())
        _rtl433_event(mosquitto.port, {"model": "Generic-Remote", "id": 1234, "cmd": 14, "tristate": "00ZX0Z1ZZX01"})
        _next_until(page, lambda: page.get_by_label("Codes when active").count() > 0)
        expect(page.get_by_label("Codes when active")).to_have_value("10")
        expect(page.get_by_label("Codes when inactive")).to_have_value("14")
        page.get_by_label("Device id").fill("door-kitchen")
        page.get_by_label("Room", exact=True).select_option("_new")
        page.get_by_label("Or a room not in the list").fill("Back kitchen")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved and applied.")).to_be_visible()

        # The radar: its port probed, its model recognised from its frames.
        page.goto(base + "/devices/learn")
        page.get_by_label("Serial port", exact=True).fill(str(radar.link))
        page.locator("#radars").get_by_role("button", name="Listen on this port").last.click()
        expect(page.locator("#probe-result")).to_contain_text("Hi-Link LD2410 (presence) answered", timeout=20_000)
        shots("learn-radar")
        page.get_by_role("link", name="Add this radar").click()
        page.get_by_label("Device id").fill("radar-bath")
        page.get_by_label("Room", exact=True).select_option("bathroom")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved and applied.")).to_be_visible()

        saved = tomllib.loads((tmp_path / "carehub.toml").read_text())
        assert [d["id"] for d in saved["devices"]][-1] == "door-back" and saved["devices"][-1]["kind"] == "door"
        assert saved["zigbee_devices"][0]["friendly_name"] == "hall pir"
        assert (saved["rtl433_devices"][0]["active_codes"], saved["rtl433_devices"][0]["inactive_codes"],
                saved["rtl433_devices"][0]["room"]) == (["10"], ["14"], "back_kitchen")
        assert saved["radars"][0]["model"] == "ld2410" and saved["radars"][0]["port"] == str(radar.link)
        daemon.wait_event("radar.opened", timeout=15, where=lambda e: e.get("radar") == "radar-bath")
        assert not console_errors, console_errors
        shots.publish()
    finally:
        context.close()
        radar.stop()
        zigbee.stop()


def test_a_device_added_is_read_in_the_audit_log_in_both_languages(
        browser: Any, page_hub: tuple[Daemon, str, WearableEmulator], rflink: RflinkEmulator,
        tmp_path: Path) -> None:
    from playwright.sync_api import expect

    daemon, base, _ = page_hub
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = Shots(page)
    console_errors = _watch_console(page)
    _log_in_first_time(page, base, daemon, tmp_path)
    page.goto(base + "/devices/learn")
    page.wait_for_timeout(300)
    rflink.frame(LEARN_DOOR, "ON", repeats=2)
    rflink.frame(LEARN_DOOR, "OFF", repeats=2)
    page.locator("#heard li", has_text="0e0077").get_by_role("link", name="Add this sensor").click()
    page.get_by_label("Device id").fill("door-back")
    page.get_by_label("Room", exact=True).select_option("entrance")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved and applied.")).to_be_visible()
    page.goto(base + "/audit")
    entry = page.locator("#audit > li").first
    expect(entry).to_contain_text("sensor added")
    expect(entry).to_contain_text("added door-back (Door contact, entrance)")
    expect(entry).to_contain_text("technician at 127.0.0.1")
    assert "{" not in page.locator("#audit").inner_text()  # never a JSON dump
    shots("audit")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("#audit > li").first).to_contain_text("添加了 door-back（门磁，门厅）")
    shots("audit-zh")
    assert not console_errors, console_errors
    shots.publish()
    context.close()


def test_the_status_page_shows_a_week_of_the_person_s_days(browser: Any, tmp_path: Path, mosquitto: Mosquitto,
                                                          rflink: RflinkEmulator, platform: PlatformEmulator,
                                                          daemon_factory: Callable[..., Daemon]) -> None:
    """A replayed week of the synthetic home (``carehub sim home DIR --days 7``, fed to the hub's database
    before it starts), then the day view walked at 360 px and on a desktop, in both languages."""
    from playwright.sync_api import expect

    from tests.conftest import CODES
    from tests.home_week import feed, simulate

    feed(simulate(tmp_path / "home", days=7), tmp_path / "state" / "carehub.db")
    port = free_port()
    cfg = hub_config(tmp_path, mosquitto.port, rflink.link, web={"enabled": True, "bind": "127.0.0.1", "port": port},
                     site={"id": "test-site", "name": "Flat 12"})
    daemon = daemon_factory(cfg).start()
    daemon.wait_event("web.listening", timeout=10)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = Shots(page)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    daemon.wait_event("web.setup_code")
    page.goto(base + "/")
    page.get_by_label("Setup code").fill((tmp_path / "state" / "web-setup-code").read_text().strip())
    page.get_by_label("New technician password").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Set password and continue").click()
    expect(page.get_by_role("heading", name="Hub status")).to_be_visible()
    expect(page.locator("header.top")).to_contain_text("Flat 12")

    # Someone walks into the living room: the last sign of life, live, with its time on tap.
    expect(page.locator("#live-state")).to_contain_text("Live")
    rflink.frame(CODES["pir-living"], "ON")
    expect(page.locator("#events li", has_text="pir-living").first).to_be_visible()
    glance = page.locator("#glance")  # refreshed by the page every 5 s
    expect(glance.locator("#last-sign")).to_contain_text("Last sign of life: living room", timeout=15_000)
    when = glance.locator("#last-sign time.rel")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", when.get_attribute("title") or "")
    when.focus()  # a tap on a phone: the absolute time shows beside it
    assert page.evaluate("() => getComputedStyle(document.activeElement, '::after').content") != "none"
    expect(glance).to_contain_text("Silent for")

    # The week: a strip a day, today's rooms in lanes, every mark with its own title; readable without script.
    day = page.locator("#day")
    expect(day.locator(".lane")).not_to_have_count(0)
    week = day.locator(".lanes").nth(1).locator("svg.strip")
    expect(week).to_have_count(7)
    assert week.nth(0).locator("rect title").count() > 20, "a whole day of activity on the first strip"
    assert "signs of life" in (week.nth(0).locator("rect title").last.text_content() or "")
    assert page.evaluate("() => document.querySelectorAll('#day [style]').length") == 0
    learned = page.locator("#learned")
    expect(learned).to_contain_text("Usual wake-up")
    expect(learned).to_contain_text("mornings")
    expect(learned.locator("table").first).to_contain_text("kitchen")
    shots("status-day")

    # Devices that say their state, and the detection form in sections.
    page.get_by_role("link", name="Devices").click()
    expect(page.locator("li.device", has_text="pir-living")).to_contain_text("Last heard")
    expect(page.locator("li.device", has_text="sos-bed")).to_contain_text("never")
    expect(page.locator("#never-heard")).to_contain_text("Press its button")  # said once, under the list
    expect(page.locator("main")).not_to_contain_text("Remove")
    page.get_by_role("link", name="Detection").click()
    expect(page.locator("fieldset legend", has_text="Falls")).to_be_visible()
    page.get_by_role("link", name="Falls").click()
    shots("settings-sections")
    page.get_by_role("link", name="Platform").click()
    expect(page.locator(".file-pick").first).to_contain_text("Choose a file")

    # Chinese: the same day, with Chinese punctuation.
    page.get_by_role("link", name="中文").click()
    page.get_by_role("link", name="状态").click()
    expect(page.locator("#last-sign")).to_contain_text("最近活动迹象：客厅，")
    expect(page.locator("#day")).to_contain_text("最近 7 天")
    shots("status-day-zh")
    page.get_by_role("link", name="平台连接").click()
    expect(page.locator(".file-pick").first).to_contain_text("选择文件")
    shots("platform-zh")

    assert not console_errors, console_errors
    shots.publish()
    context.close()
