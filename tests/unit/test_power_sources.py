"""The power sources read from files (a temp dir standing in for /sys), and the monitor's one-commit reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gateway.clock import HubClock
from gateway.config.power import PowerConfig
from gateway.power import KV_KEY, PowerMonitor, read_gpio_file, read_power_supply
from gateway.store import Store
from gateway.topics import Topics

T = Topics.for_site("carehub/v1", "flat-3b")


def supply(root: Path, name: str, **files: str) -> Path:
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    for key, value in files.items():
        (d / key).write_text(value + "\n")
    return d


def test_a_mains_or_usb_supply_online_means_mains_present(tmp_path):
    supply(tmp_path, "AC", type="Mains", online="1")
    supply(tmp_path, "BAT0", type="Battery", status="Charging", capacity="97")
    r = read_power_supply(tmp_path)
    assert (r.mains, r.battery_pct, r.source, r.problem) == (True, 97.0, "power_supply:AC", None)
    (tmp_path / "AC" / "online").write_text("0\n")
    assert read_power_supply(tmp_path).mains is False
    supply(tmp_path, "usb", type="USB", online="1")
    assert read_power_supply(tmp_path).mains is True, "any supply online"


def test_a_ups_hat_that_shows_only_its_battery_is_read_from_the_battery_status(tmp_path):
    bat = supply(tmp_path, "ups-battery", type="Battery", status="Full", capacity="100")
    assert read_power_supply(tmp_path).mains is True
    (bat / "status").write_text("Discharging\n")
    r = read_power_supply(tmp_path)
    assert r.mains is False and r.source == "power_supply:ups-battery"
    (bat / "status").write_text("Unknown\n")
    assert read_power_supply(tmp_path).mains is None


def test_nothing_to_read_is_a_problem_not_a_verdict(tmp_path):
    assert read_power_supply(tmp_path / "missing").problem is not None
    assert read_power_supply(tmp_path).mains is None
    gpio = tmp_path / "value"
    assert read_gpio_file(gpio, 1).mains is None
    gpio.write_text("1\n")
    assert read_gpio_file(gpio, 1).mains is True and read_gpio_file(gpio, 0).mains is False
    gpio.write_text("garbage")
    assert read_gpio_file(gpio, 1).problem is not None


def monitor(store: Store, gpio: Path, uptime: float = 40.0) -> PowerMonitor:
    cfg = PowerConfig(enabled=True, source="gpio_file", gpio_file=str(gpio), lost_after_s=0.0, restored_after_s=0.0)
    return PowerMonitor(cfg, store, T, "flat-3b", HubClock(lambda: True), wake_uplink=lambda: None,
                        uptime=lambda: uptime)


def start(m: PowerMonitor) -> None:
    """What run() does before its first reading: pick up the incident the previous run left."""
    task_done = asyncio.run(_first_step(m))
    assert task_done


async def _first_step(m: PowerMonitor) -> bool:
    task = asyncio.create_task(m.run())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return True


def power_messages(store: Store) -> list[dict[str, object]]:
    return [json.loads(r.payload) for r in store.outbox() if r.topic == T.power]


def test_a_cut_and_a_reboot_after_the_battery_ran_flat_are_one_incident_through_the_outbox(tmp_path):
    gpio = tmp_path / "value"
    gpio.write_text("1\n")
    store = Store(tmp_path / "s.db")
    m = monitor(store, gpio)
    start(m)
    gpio.write_text("0\n")
    m.step()
    m.step()
    (lost,) = power_messages(store)
    assert lost["state"] == "on_battery" and lost["source"] == "gpio_file"
    assert json.loads(store.kv_get(KV_KEY) or "{}")["id"] == lost["incident"], "the incident is on the card"
    store.close()

    # The hub dies; the power comes back; it boots over the same card.
    gpio.write_text("1\n")
    store = Store(tmp_path / "s.db")
    again = monitor(store, gpio)
    start(again)
    again.step()
    messages = power_messages(store)
    assert [m_["state"] for m_ in messages] == ["on_battery", "restored"]
    assert messages[1]["incident"] == lost["incident"] and messages[1]["hub_restarted"] is True
    assert store.kv_get(KV_KEY) is None
    again.step()
    assert len(power_messages(store)) == 2, "nothing more"


def test_an_unreadable_source_is_counted_and_said_once_a_minute(tmp_path, capsys):
    store = Store(tmp_path / "s.db")
    m = monitor(store, tmp_path / "nothing-here")
    for _ in range(5):
        m.step()
    assert m.counters["unreadable"] == 5 and power_messages(store) == []
    assert capsys.readouterr().out.count("power.source_unreadable") == 1
    assert m.status()["problem"] is not None
