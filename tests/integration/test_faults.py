"""Faults aimed at the moments right after help presses (issue 11, "Tests that would have caught these").

Real parts: the daemon as its own process, a persistent mosquitto on a free
loopback port, an RFLink gateway on a pty, and the platform emulator
acknowledging every open message within milliseconds (tests/fault_harness.py).
For every press the hub heard (it stored an alert for it, or logged one it
could only send from memory) the account must show: delivered, not lost, one
alert id, no seq shared with another alert, never escalated after the platform
acknowledged it, and at the platform within 10 s of being heard.

Faults are placed by seeded randomness, not hooks in the daemon: a SIGKILL a
few milliseconds after a press lands between the outbox write, the PUBLISH and
the PUBACK (the daemon's log says which moment each kill hit, and the test
prints it). Defects these tests find are written up in
/work/notes/faults-findings.md while they remain.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import Counter

import pytest
import tomli_w

from tests.fault_harness import FaultRun, Tally

pytestmark = pytest.mark.integration

SEED = 1101  # fixed: the same kills at the same moments on every run


def check(t: Tally) -> None:
    print(t.summary())
    problems = t.problems()
    assert not problems, f"{t.summary()}\n" + "\n".join(problems)
    assert t.heard > 0 and t.delivered == t.heard


def kill_moment(run: FaultRun, device: str) -> str:
    """Where the kill landed for the press just before it, from the killed daemon's own log."""
    hub = run.hub
    stored = [e for e in hub.find("alert.stored") if e.get("device") == device]
    if not stored:
        return "before the outbox write"
    published = [e for e in hub.find("alert.published") if e.get("id") == stored[0]["id"]]
    acked = [e for e in hub.find("alert.acked") if e.get("id") == stored[0]["id"]]
    if acked:
        return "after the platform's ack"
    if published:
        return "after PUBACK"
    if any(a["id"] == stored[0]["id"] for a in run.platform.alerts):
        return "after PUBLISH (at the platform), before PUBACK was handled"
    return "after the outbox write, before PUBLISH"


def test_sigkill_of_the_daemon_during_bursts(tmp_path, daemon_factory):
    # The platform answers 40 ms after each alert: kills a few ms after a press leave the
    # acknowledgement to arrive while no hub is running, which the broker must keep for it.
    run = FaultRun(tmp_path, daemon_factory, seed=SEED, buttons=80, ack_delay_s=0.04)
    try:
        run.start_hub()
        run.wait_online()
        moments: Counter[str] = Counter()
        for cycle in range(6):
            n = run.rng.randint(4, 8)
            kill_after = run.rng.randrange(n)
            # Aimed by what the hub and the platform show, since a loaded machine blurs timing:
            # just after the outbox write, just after the platform has it (PUBLISH done, PUBACK
            # in flight or just back), or a few ms after the frame.
            aim = ("stored", "at platform", "published", "time")[cycle % 4]
            delay = run.rng.choice([0.0, 0.001, 0.002, 0.004, 0.008])
            victim: list[str] = []

            def kill(aim: str = aim, delay: float = delay, victim: list[str] = victim) -> None:
                device = run.presses[-1].device
                if aim in ("stored", "published"):
                    stored = run.hub.wait_event("alert.stored", timeout=5, where=lambda e: e.get("device") == device)
                    if aim == "published":  # PUBACK handled: the outbox row is gone
                        run.hub.wait_event("alert.published", timeout=5, where=lambda e: e.get("id") == stored["id"])
                elif aim == "at platform":
                    assert run.platform.wait_for(lambda p: any(a["device"] == device for a in p.alerts), 5)
                time.sleep(delay)
                run.hub.kill()
                victim.append(device)

            run.burst(n, (0.005, 0.04), note=f"kill cycle {cycle} ({aim})", at={kill_after: kill})
            moments[kill_moment(run, victim[0])] += 1
            run.start_hub()  # presses after the kill were sent while no hub was running
        print("kill moments:", dict(moments))
        run.settle()
        check(run.account())
    finally:
        run.close()


def test_a_daemon_that_crash_loops_still_escalates(tmp_path, daemon_factory):
    """Killed every few seconds, faster than the acknowledgement timeout: the escalation
    deadline must survive the restarts rather than start again with each one."""
    ack_timeout = 6.0
    run = FaultRun(tmp_path, daemon_factory, seed=SEED + 5, buttons=2, platform_mode="ignore",
                   alerts={"ack_timeout_s": ack_timeout})
    try:
        run.start_hub()
        run.wait_online()
        press = run.press("crash loop")
        assert run.platform.wait_for(lambda p: any(a["device"] == press.device for a in p.alerts), 5)
        first = min(a["_received"] for a in run.platform.alerts if a["device"] == press.device)

        def escalated() -> bool:
            return any(a["device"] == press.device and a["level"] >= 1 for a in run.platform.alerts)

        restarts = 0
        while not escalated() and time.monotonic() < first + ack_timeout + 8:
            time.sleep(1.5)
            run.hub.kill()
            run.start_hub()
            restarts += 1
        assert escalated(), f"no escalation after {restarts} restarts in {time.monotonic() - first:.1f} s"
        at = min(a["_received"] for a in run.platform.alerts if a["device"] == press.device and a["level"] >= 1)
        # Due at ack_timeout after the first send; a restart may delay it by its own start-up.
        assert at - first <= ack_timeout + 5.0, f"escalated {at - first:.1f} s after the first send"
        assert restarts >= 2
    finally:
        run.close()


def test_broker_killed_with_more_than_50_messages_in_flight(tmp_path, daemon_factory):
    run = FaultRun(tmp_path, daemon_factory, seed=SEED + 1, buttons=120)
    try:
        run.start_hub()
        run.wait_online()
        broker = run.broker
        assert broker.proc is not None
        # A broker that hangs, then dies: everything the hub sent meanwhile is in flight.
        os.kill(broker.proc.pid, signal.SIGSTOP)
        run.burst(60, (0.001, 0.004), note="broker hung, then killed")
        run.hub.wait_event("alert.stored", nth=60, timeout=10)
        time.sleep(0.3)
        broker.kill()
        lost = run.hub.wait_event("uplink.disconnected", timeout=40)
        assert lost["in_flight"] >= 50, lost
        time.sleep(0.5)
        broker.start()
        run.hub.wait_event("uplink.connected", nth=2, timeout=15)
        # A broker killed while running: some messages acknowledged to the hub, not yet delivered.
        kill_at = run.rng.randrange(10, 30)
        run.burst(40, (0.002, 0.01), note="broker killed mid-burst",
                  at={kill_at: lambda: (broker.kill(), time.sleep(0.3), broker.start())})
        # A broker that acknowledged alerts to the hub and lost them before the platform had them:
        # the platform is away a moment, the broker queues for it, dies and forgets. Only the
        # hub's re-sending of open, unacknowledged alerts on connect can deliver them in time.
        run.hub.wait_event("uplink.connected", nth=3, timeout=15)
        run.platform.stop()
        run.burst(10, (0.005, 0.02), note="accepted by the broker, then lost with it")
        for p in run.presses[-10:]:  # every one of them acknowledged by the broker (PUBACK)
            stored = run.hub.wait_event("alert.stored", timeout=10, where=lambda e, d=p.device: e.get("device") == d)
            run.hub.wait_event("alert.published", timeout=10, where=lambda e, i=stored["id"]: e.get("id") == i)
        broker.kill()
        broker.forget()
        assert run.hub.proc is not None
        os.kill(run.hub.proc.pid, signal.SIGSTOP)  # the platform is back before the hub reconnects
        try:
            broker.start()
            run.platform.start()
            time.sleep(0.3)  # its subscriptions are in place
        finally:
            os.kill(run.hub.proc.pid, signal.SIGCONT)
        run.settle()
        check(run.account())
    finally:
        run.close()


def test_radio_unplugged_mid_burst(tmp_path, daemon_factory):
    # At debug level, where the serial library's own lines about the unplug show too.
    run = FaultRun(tmp_path, daemon_factory, seed=SEED + 2, buttons=60, logging={"level": "debug"})
    try:
        run.start_hub()
        run.wait_online()
        for cycle in range(4):
            opened = len(run.hub.find("rflink.opened"))

            def unplug(opened: int = opened) -> None:
                run.rflink.vanish()
                time.sleep(run.rng.uniform(0.0, 0.05))
                run.press("radio unplugged")  # nothing goes out: not heard, not counted
                time.sleep(0.3)
                run.rflink.reappear()
                run.hub.wait_event("rflink.opened", nth=opened + 1, timeout=10)

            run.burst(8, (0.005, 0.03), note=f"unplug cycle {cycle}", at={run.rng.randrange(2, 6): unplug})
        assert all(not p.sent for p in run.presses if p.note == "radio unplugged")
        run.settle()
        check(run.account())
        # An unplug is a line or two in the journal, never a traceback.
        events = [e for d in run.daemons for e in d.find("rflink.lost")]
        assert len(events) == 4
        raw = "\n".join(d.log_path.read_text(errors="replace") for d in run.daemons)
        assert "Traceback" not in raw, [ln for ln in raw.splitlines() if "Traceback" in ln][:3]
    finally:
        run.close()


# --- a full disk ----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs: a card that fills up. Mounting needs root (CI and `./dev test` run as root or sudo)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0755", "carehub-test-disk", str(mnt)]
    if os.geteuid() != 0:
        cmd = ["sudo", "-n", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs for the disk-full test ({proc.stderr.strip()}): "
                    "run the tests as root, or as a user with passwordless sudo, as ./dev test expects")
    try:
        yield mnt
    finally:
        subprocess.run([*cmd[: cmd.index("mount")], "umount", "-l", str(mnt)], capture_output=True)


def fill(disk) -> None:
    """Take every free block, down to the last one."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)


def test_disk_full_during_alert_writes_journal_flush_and_config_save(tmp_path, daemon_factory, small_disk):
    run = FaultRun(tmp_path, daemon_factory, seed=SEED + 3, buttons=40,
                   storage={"path": str(small_disk / "state" / "carehub.db")})
    config = small_disk / "carehub.toml"
    try:
        run.start_hub(config_path=config)
        run.wait_online()
        run.burst(2, (0.1, 0.2), note="disk with room")
        fill(small_disk)
        # Alert writes: press until SQLite runs out of room, and a few times more.
        for _ in range(30):
            run.press("disk full")
            time.sleep(0.15)
            if run.hub.find("alert.storage_failed"):
                break
        failed = run.hub.find("alert.storage_failed")
        assert failed, "the disk never filled up for SQLite: the test did not test anything"
        run.burst(3, (0.1, 0.2), note="disk full")
        # Config save: refused with a clear reason, the file on disk untouched, no debris.
        before = config.read_bytes()
        names = sorted(p.name for p in small_disk.iterdir())
        run.platform.request("test-site", "set_config", {"request_id": "full", "changes": {
            "alerts": {"ack_timeout_s": 30.0}}})
        assert run.platform.wait_for(lambda p: any("/response/" in o.topic for o in p.other), timeout=10)
        answer = next(o.json() for o in run.platform.other if "/response/" in o.topic)
        assert answer["request_id"] == "full" and not answer.get("applied") and answer["ok"] is False, answer
        assert "space" in answer["error"].lower(), answer
        assert config.read_bytes() == before
        assert sorted(p.name for p in small_disk.iterdir()) == names, "a failed save left files behind"
        # Journal flush (at the latest when stopping): fails in one clear line, and the hub stops cleanly.
        hub = run.hub
        assert hub.stop() == 0, hub.tail()
        assert hub.find("hub.stopped"), hub.tail()
        journal = hub.find("pipeline.journal_failed")
        assert journal and "full" in journal[0]["error"].lower(), hub.tail()
        # A clear log: each failure one line naming it, no tracebacks (checked last, with the account).
        hub.find("hub.stopped")  # reads the whole log
        noisy = [f"{e.get('event')} logged a traceback ({str(e['exception']).splitlines()[-1]})"
                 for e in hub.events if "Traceback" in str(e.get("exception", ""))]
        noisy += [f"not a log line: {e['text'][:120]}" for e in hub.events if e.get("event") == "<non-json>"]
        # Room again: the hub starts on the same card and goes on.
        (small_disk / "filler").unlink()
        run.start_hub(config_path=config)
        run.wait_online()
        run.burst(2, (0.1, 0.2), note="disk with room again")
        run.settle()
        from_memory = {e["id"]: a["device"] for d in run.daemons for e in d.find("alert.storage_failed")
                       for a in run.platform.alerts if a["id"] == e["id"]}
        t = run.account(also_heard=from_memory)
        print(t.summary())
        assert not t.problems() + noisy, f"{t.summary()}\n" + "\n".join(t.problems() + noisy)
        assert t.heard > 0 and t.delivered == t.heard
    finally:
        run.close()


# --- power loss while the config is saved -------------------------------------------


def test_power_loss_during_a_config_save_starts_with_the_last_good_config(tmp_path, daemon_factory):
    """save_atomic: .bak (temp, fsync, rename), then the file (temp, fsync, rename, fsync dir).

    A power cut leaves one of these states; each must start with the last good config,
    never refuse to start and never run on half a file.
    """
    run = FaultRun(tmp_path, daemon_factory, seed=SEED + 4, buttons=4)
    config = tmp_path / "cut" / "carehub.toml"
    config.parent.mkdir()
    good = tomli_w.dumps({**run.cfg, "site": {"id": "good-site"}})
    older = tomli_w.dumps({**run.cfg, "site": {"id": "older-site"}})
    newer = tomli_w.dumps({**run.cfg, "site": {"id": "newer-site"}})
    tmp = config.with_name(f".{config.name}.tmp-4242")
    bak = config.with_name(config.name + ".bak")
    bak_tmp = bak.with_name(f".{bak.name}.tmp-4242")
    states = {
        # cut while writing the new copy of .bak
        "half-written .bak temp": ({config: good, bak: older, bak_tmp: good[: len(good) // 2]}, "good-site"),
        # cut after .bak, while writing the new file: a complete or a half-written temp
        "complete temp, not renamed": ({config: good, bak: good, tmp: newer}, "good-site"),
        "half-written temp": ({config: good, bak: good, tmp: newer[: len(newer) // 3]}, "good-site"),
        "empty temp": ({config: good, bak: good, tmp: ""}, "good-site"),
        # cut after the rename: the new file, and the previous one as .bak
        "renamed": ({config: newer, bak: good}, "newer-site"),
        # the card lost the file's blocks (rename kept, data gone): the previous copy is the last good one
        "file empty, .bak good": ({config: "", bak: good}, "good-site"),
        "file cut short, .bak good": ({config: newer[: newer.index("newer-site") + 3], bak: good}, "good-site"),
    }
    try:
        for name, (files, site) in states.items():
            for f in config.parent.iterdir():
                f.unlink()
            for path, text in files.items():
                path.write_text(text)
            hub = run.start_hub(config_path=config)
            ready = hub.wait_event("hub.ready")
            assert ready["site"] == site, f"{name}: started as {ready['site']}, expected {site}"
            assert hub.stop() == 0, f"{name}:\n{hub.tail()}"
            raw = hub.log_path.read_text(errors="replace")
            if name.startswith("file "):
                assert "config.fallback_to_backup" in raw, f"{name}: the fallback must be logged"
    finally:
        run.close()
