"""Mains lost and back as one incident: debounced, flickers folded, a reboot mid-incident reported once."""

from __future__ import annotations

from gateway.clock import iso
from gateway.power_state import HEARTBEAT_S, MainsWatch


class Feed:
    """Readings on a fake clock: ``run(mains, seconds)`` reads every ``step`` seconds."""

    def __init__(self, watch: MainsWatch, wall0: float = 1_764_000_000.0, step: float = 1.0) -> None:
        self.watch, self.t, self.wall0, self.step = watch, 0.0, wall0, step
        self.reports: list[dict[str, object]] = []

    def run(self, mains: bool | None, seconds: float) -> None:
        end = self.t + seconds
        while self.t < end:
            for r in self.watch.observe(mains, t=self.t, wall=self.wall0 + self.t, synced=True, source="test",
                                        battery_pct=80.0):
                self.reports.append(r.message("flat-3b", iso))
            self.t += self.step


def watch() -> MainsWatch:
    ids = iter(f"inc-{i}" for i in range(100))
    return MainsWatch(lost_after_s=5.0, restored_after_s=60.0, new_id=lambda: next(ids))


def test_a_dip_shorter_than_the_debounce_is_nothing():
    f = Feed(watch())
    f.run(True, 30)
    f.run(False, 4)
    f.run(True, 120)
    assert f.reports == []


def test_a_cut_is_one_report_when_it_starts_and_one_when_the_mains_has_stayed_back():
    f = Feed(watch())
    f.run(True, 10)
    f.run(False, 600)
    f.run(True, 59)
    assert [r["state"] for r in f.reports] == ["on_battery"], "not back for long enough yet"
    f.run(True, 120)
    lost, back = f.reports
    assert back["state"] == "restored" and lost["incident"] == back["incident"] == "inc-0"
    assert lost["cut_at"] == back["cut_at"] == iso(f.wall0 + 10), "the cut dates from the first reading without mains"
    assert back["restored_at"] == iso(f.wall0 + 610) and back["on_battery_s"] == 600.0
    assert back["hub_off_s"] == 0.0 and back["hub_restarted"] is False and back["flickers"] == 0


def test_a_mains_that_flickers_back_and_off_again_stays_one_incident():
    f = Feed(watch())
    f.run(False, 30)
    for _ in range(20):  # back for 20 s, gone for 20 s, twenty times: a grid coming back in steps
        f.run(True, 20)
        f.run(False, 20)
    f.run(True, 120)
    assert [r["state"] for r in f.reports] == ["on_battery", "restored"]
    assert f.reports[1]["flickers"] == 20


def test_an_unreadable_source_neither_starts_nor_ends_an_incident():
    w = watch()
    f = Feed(w)
    f.run(None, 60)
    f.run(False, 10)
    f.run(None, 300)
    f.run(True, 30)
    f.run(None, 300)
    assert [r["state"] for r in f.reports] == ["on_battery"] and w.unreadable > 0


def test_a_hub_that_died_on_battery_reports_the_same_incident_restored_after_its_boot():
    first = watch()
    f = Feed(first)
    f.run(False, 30 * 60)  # half an hour on battery, then the UPS runs flat
    (lost,) = f.reports
    saved = first.snapshot()
    assert saved is not None and saved["last_on_battery_wall"] >= f.wall0 + 30 * 60 - HEARTBEAT_S - 1

    again = watch()
    boot_wall = f.wall0 + 3 * 3600.0  # the power came back and the hub booted three hours later
    again.restore(saved, boot_wall=boot_wall)
    g = Feed(again, wall0=boot_wall + 40)  # carehub starts 40 s into the boot
    g.run(True, 120)
    (back,) = g.reports
    assert back["incident"] == lost["incident"] and back["hub_restarted"] is True
    assert back["restored_at"] == iso(boot_wall), "restored at the latest when the hub booted"
    assert back["on_battery_s"] is not None and 30 * 60 - HEARTBEAT_S - 1 <= back["on_battery_s"] <= 30 * 60
    assert back["hub_off_s"] is not None and abs(back["hub_off_s"] - (3 * 3600 - 30 * 60)) <= HEARTBEAT_S + 1
    assert again.snapshot() is None, "the incident is over"


def test_a_restart_during_the_cut_continues_the_incident_without_a_second_lost_report():
    first = watch()
    f = Feed(first)
    f.run(False, 120)
    again = watch()
    again.restore(first.snapshot(), boot_wall=f.wall0 + 130)
    g = Feed(again, wall0=f.wall0 + 150)
    g.run(False, 300)  # still on battery after the restart
    g.run(True, 120)
    assert [r["state"] for r in f.reports] == ["on_battery"]
    (back,) = g.reports
    assert back["incident"] == f.reports[0]["incident"] and back["hub_restarted"] is True
    assert back["restored_at"] == iso(f.wall0 + 450) and back["on_battery_s"] == 450.0


def test_a_damaged_snapshot_is_no_incident_rather_than_a_crash():
    w = watch()
    w.restore({"id": "x", "cut_wall": "yesterday"}, boot_wall=0.0)
    w.restore({"nonsense": 1}, boot_wall=0.0)
    assert w.incident is None
