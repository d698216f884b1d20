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
    page.get_by_label("Room").fill("kitchen")
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
    expect(page.locator("main")).to_contain_text("detection.home.inactivity_floor_min")
    shots("audit")

    # Remove the sensor cleanly.
    page.get_by_role("link", name="Devices").click()
    page.locator("li", has_text="Back door").get_by_role("link", name="Remove").click()
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
