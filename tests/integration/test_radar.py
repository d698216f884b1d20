"""mmWave radars on pseudo-terminals: the driver against the emulator, and a radar fall through the whole hub."""

from __future__ import annotations

import asyncio
import time

import pytest

from detection.events import Fall, Observation, Presence, PresenceState, Stamp
from drivers.radar import RadarDriver, RadarSpec
from simulators.radar import RadarEmulator
from tests.conftest import hub_config

pytestmark = pytest.mark.integration


def _stamp() -> Stamp:
    now = time.monotonic()
    return Stamp(now, now)


async def _until(check, within_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("model", ["ld2410", "mr60fda2"])
async def test_driver_reads_the_emulated_radar_and_survives_an_unplug(tmp_path, model):
    emu = RadarEmulator(tmp_path / "serial-by-id-radar", model).start()
    if model == "mr60fda2":
        emu.period_s = 0.1
    seen: list[Observation] = []
    driver = RadarDriver(str(emu.link), RadarSpec("radar-bath", model, "bathroom"), seen.append, _stamp,  # type: ignore[arg-type]
                         reopen_min_s=0.05, reopen_max_s=0.2)
    task = asyncio.create_task(driver.run())
    try:
        emu.set(state="still", distance_m=1.2)
        want = PresenceState.STILL if model == "ld2410" else PresenceState.PRESENT
        await _until(lambda: any(isinstance(o, Presence) and o.state is want for o in seen))
        emu.write_raw(bytes(range(256)) * 4)  # line noise between reports
        emu.vanish()
        await _until(lambda: driver.counters["lost"] >= 1)
        emu.reappear()
        emu.set(state="none")
        await _until(lambda: any(isinstance(o, Presence) and o.state is PresenceState.NONE for o in seen))
        assert driver.counters["opened"] >= 2
        if model == "mr60fda2":
            emu.set(fallen=True)
            await _until(lambda: any(isinstance(o, Fall) and o.fallen for o in seen))
        still = [o for o in seen if isinstance(o, Presence) and o.state is PresenceState.STILL]
        if model == "ld2410":
            assert still[0].distance_m == 1.2
        # Ten reports a second become a handful of observations, not a flood.
        assert len(seen) < 10
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        emu.stop()


def test_radar_fall_reaches_the_platform_as_an_emergency_after_the_cancel_window(
        tmp_path, mosquitto, platform, daemon_factory):
    emu = RadarEmulator(tmp_path / "serial-by-id-mr60fda2", "mr60fda2").start()
    try:
        cfg = hub_config(tmp_path, mosquitto.port, None, detection={"fall": {"cancel_window_s": 1.0}},
                         radars=[{"id": "radar-bath", "model": "mr60fda2", "port": str(emu.link),
                                  "room": "bathroom"}])
        hub = daemon_factory(cfg).start()
        hub.wait_event("radar.opened", timeout=10)
        hub.wait_event("uplink.connected")
        emu.set(state="still")
        emu.set(fallen=True)
        pending = hub.wait_event("alert.stored", timeout=10)
        assert pending["state"] == "pending" and pending["device"] == "radar-bath"
        assert platform.wait_for(lambda p: len(p.alerts_of("fall")) >= 1, timeout=10)
        alert = platform.alerts_of("fall")[0]
        assert (alert["severity"], alert["state"], alert["room"]) == ("emergency", "open", "bathroom")
        assert alert["evidence"]["source"] == "radar"
        hub.wait_event("alert.acked", where=lambda e: e.get("id") == alert["id"])
        # The radar keeps saying "fallen" every second: still one alert.
        time.sleep(2.5)
        assert len({a["id"] for a in platform.alerts_of("fall")}) == 1
        # Its counters reach the platform in the hub's health messages.
        assert platform.wait_for(lambda p: any("radar" in h for h in p.health), timeout=10)
        radar = next(h for h in platform.health if "radar" in h)["radar"]["radar-bath"]
        assert radar["connected"] is True and radar["counters"]["frames"] > 0
        assert hub.stop() == 0
    finally:
        emu.stop()


async def test_a_hung_ld2410_is_reopened_and_heard_again(tmp_path):
    emu = RadarEmulator(tmp_path / "serial-by-id-ld2410", "ld2410").start()
    seen: list[Observation] = []
    driver = RadarDriver(str(emu.link), RadarSpec("radar-bed", "ld2410", "bedroom"), seen.append, _stamp,
                         reopen_min_s=0.05, reopen_max_s=0.2, quiet_reopen_s=0.4)
    task = asyncio.create_task(driver.run())
    try:
        await _until(lambda: len(seen) >= 1)
        emu.period_s = 3600.0  # the module hangs: the port stays open, nothing comes
        emu.set(state="moving", distance_m=2.0)  # one last report, then silence
        await _until(lambda: driver.counters["quiet_reopen"] >= 2)
        assert driver._quiet_logged
        emu.period_s = 0.1
        emu.set(state="still", distance_m=1.0)  # it comes back
        await _until(lambda: any(isinstance(o, Presence) and o.state is PresenceState.STILL for o in seen))
        assert not driver._quiet_logged
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        emu.stop()


def test_someone_still_in_the_bathroom_reaches_the_platform_as_room_dwell(
        tmp_path, mosquitto, platform, daemon_factory):
    emu = RadarEmulator(tmp_path / "serial-by-id-ld2410", "ld2410").start()
    try:
        cfg = hub_config(tmp_path, mosquitto.port, None,
                         radars=[{"id": "radar-bath", "model": "ld2410", "port": str(emu.link),
                                  "room": "bathroom", "still_alert_min": 0.05}])  # 3 s, for the test
        hub = daemon_factory(cfg).start()
        hub.wait_event("radar.opened", timeout=10)
        hub.wait_event("uplink.connected")
        emu.set(state="moving", distance_m=1.5)  # she walks in...
        time.sleep(0.5)
        emu.set(state="still", distance_m=0.6)  # ...and stays on the floor, near the radar
        time.sleep(3.5)
        emu.set(state="moving")  # a short blip neither resets nor clears
        time.sleep(0.3)
        emu.set(state="still")
        assert platform.wait_for(lambda p: len(p.alerts_of("room_dwell")) >= 1, timeout=40)
        alert = platform.alerts_of("room_dwell")[0]
        assert (alert["severity"], alert["room"], alert["device"]) == ("urgent", "bathroom", "radar-bath")
        assert alert["evidence"]["source"] == "radar" and alert["evidence"]["distance_m"] == 0.6
        assert alert["evidence"]["radar_says"] == "here"  # decided by the home monitor, the one place for it
        emu.set(state="moving", distance_m=2.5)  # she gets up and walks out: movement that goes somewhere
        # Cleared at once when the radar's report shows her 1.9 m away; at the latest when the movement has
        # lasted SETTLE_S (30 s) and the next 30 s detector tick sees it (a loaded CI machine once needed that).
        assert platform.wait_for(lambda p: len(p.alerts_of("room_dwell", state="cleared")) >= 1, timeout=75)
        assert hub.stop() == 0
    finally:
        emu.stop()
