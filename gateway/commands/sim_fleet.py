"""``carehub sim fleet``: N hubs through a district power cut, against a real broker (docs/fleet.md).

Every hub is the real uplink, outbox and alert policy (``gateway/fleet.py``),
many in this one process; the broker is a real mosquitto that this command
starts on a free loopback port; the platform is one or more emulators that
acknowledge every alert (``--workers`` > 1: a shared subscription). The hubs
connect, every one has alerts queued, the power is cut for all of them at once
and restored at once; the command reports the broker's peak connection rate,
how long until every queued alert was delivered and acknowledged, the alerts
lost and duplicated by id, and whether every hub connected within the window.
``--no-jitter`` switches the boot spread and the backoff's jitter off, to show
what they are for; ``--compare`` runs both and gives the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Connects block (TCP, CONNECT) in worker threads, as in the hub; a fleet's hubs are
# separate machines, so more threads than one hub's default let them knock together.
CONNECT_THREADS = 64


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hubs", type=int, default=1000, help="number of hubs (default 1000)")
    p.add_argument("--window", type=float, default=120.0,
                   help="platform.boot_spread_s of every hub, seconds (default 120)")
    p.add_argument("--no-jitter", action="store_true", help="no boot spread and no backoff jitter")
    p.add_argument("--compare", action="store_true", help="run without jitter, then with it, and give the ratio")
    p.add_argument("--urgent-every", type=int, default=100,
                   help="one hub in this many has a help call waiting too (default 100; 0: none)")
    p.add_argument("--workers", type=int, default=2, help="platform workers sharing the alerts (default 2)")
    p.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds (default window + 120)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run(args: argparse.Namespace) -> int:
    if args.hubs < 1 or args.workers < 1 or args.window < 0:
        print("--hubs and --workers must be at least 1, --window not negative")
        return 2
    say: Callable[[str], None] = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    kw = {"window_s": args.window, "urgent_every": args.urgent_every, "workers": args.workers,
          "timeout_s": args.timeout or None, "say": say}
    if args.compare:
        report = compare(args.hubs, **kw)
        ok = bool(report["targets_met"])
    else:
        report = measure(args.hubs, jitter=not args.no_jitter, **kw)
        ok = report["lost"] == 0 and report["duplicates_by_id"] == 0 and bool(report["all_connected"])
    print(json.dumps(report, indent=None if args.json else 2))
    return 0 if ok else 1


def compare(hubs: int, **kw: Any) -> dict[str, Any]:
    """Both runs, and the issue's targets: 0 lost, 0 duplicates, peak with jitter <= 1/10 of without."""
    without = measure(hubs, jitter=False, **kw)
    with_ = measure(hubs, jitter=True, **kw)

    def ratio(key: str) -> float | None:
        return round(float(with_[key]) / float(without[key]), 4) if without[key] else None

    # The target is judged on the platform's count of "online" statuses (each one passed through the
    # broker, time-stamped as it arrived); the broker's own $SYS count is once a second at best, and
    # later when the broker is busy, so it flattens a burst (the rate without the spread).
    platform_ratio = ratio("peak_online_rate_platform")
    met = (platform_ratio is not None and platform_ratio <= 0.1 and with_["all_connected_within_window"]
           and all(r["lost"] == 0 and r["duplicates_by_id"] == 0 for r in (with_, without)))
    return {"hubs": hubs, "without_jitter": without, "with_jitter": with_,
            "peak_ratio_platform": ratio("peak_online_rate_platform"),
            "peak_ratio_broker": ratio("peak_connect_rate_broker"), "peak_ratio_hubs": ratio("peak_connect_rate_hubs"),
            "targets_met": met}


def measure(hubs: int, *, jitter: bool, window_s: float = 120.0, urgent_every: int = 100, workers: int = 2,
            timeout_s: float | None = None, say: Callable[[str], None] = print) -> dict[str, Any]:
    """One power cut and restore of ``hubs`` hubs; the figures as a dict (docs/benchmarks.md)."""
    import logging

    import structlog

    # The in-process run changes the process's logging (a test runs it beside others): put it back.
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    try:
        return _measure(hubs, jitter=jitter, window_s=window_s, urgent_every=urgent_every, workers=workers,
                        timeout_s=timeout_s, say=say)
    finally:
        structlog.configure(**config)
        root.handlers[:] = handlers
        root.setLevel(level)
        gc.unfreeze()


def _measure(hubs: int, *, jitter: bool, window_s: float, urgent_every: int, workers: int,
             timeout_s: float | None, say: Callable[[str], None]) -> dict[str, Any]:
    import logging

    import structlog

    from gateway.logs import setup
    from simulators.fleet import FD_MARGIN, FDS_PER_HUB, BrokerConnections, fleet_broker, raise_fd_limit
    from simulators.platform import PlatformEmulator

    # Thousands of hubs share this process's one core: their info lines would be much of the run's
    # cost, so they are dropped before they are even formatted.
    setup("error")
    # Not cached: a logger first used here must not keep the ERROR filter after the run.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
                        cache_logger_on_first_use=False)
    fds = raise_fd_limit(hubs)
    if fds < hubs * FDS_PER_HUB + FD_MARGIN:
        say(f"warning: open files limited to {fds} (hard limit): about {(fds - FD_MARGIN) // FDS_PER_HUB} hubs "
            "fit; raise it (ulimit -Hn, or LimitNOFILE) for more")
    load_before = os.getloadavg()
    with fleet_broker() as broker:
        group = "carehub-platform" if workers > 1 else None
        platforms = [PlatformEmulator("127.0.0.1", broker.port, mode="ack", share_group=group,
                                      client_id=f"platform-worker-{i}").start() for i in range(workers)]
        counter = BrokerConnections(broker.port).start()
        try:
            report = asyncio.run(_phases(hubs, broker.port, jitter, window_s, urgent_every, platforms, counter,
                                         timeout_s or window_s + 120.0, say))
            report["broker_peak_rss_mib"] = _peak_rss_mib(broker.proc.pid if broker.proc else None)
        finally:
            counter.stop()
            for p in platforms:
                p.stop()
    report.update(open_files_limit=fds, cpus=os.cpu_count(), load_before=[round(x, 2) for x in load_before],
                  load_after=[round(x, 2) for x in os.getloadavg()])
    return report


def _peak_rss_mib(pid: int | None) -> float | None:
    """The broker's peak resident memory (VmHWM), from /proc: what N sessions cost it."""
    try:
        for line in open(f"/proc/{pid}/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, TypeError):
        pass
    return None


async def _phases(hubs: int, port: int, jitter: bool, window_s: float, urgent_every: int, platforms: list[Any],
                  counter: Any, timeout_s: float, say: Callable[[str], None]) -> dict[str, Any]:
    from gateway.fleet import HubFleet
    from simulators.fleet import busiest_second, delivery, peak_rate

    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=CONNECT_THREADS))
    fleet = HubFleet(hubs, "127.0.0.1", port, urgent_every=urgent_every)
    base = len(platforms) + 1  # the platform workers and the $SYS counter
    try:
        say(f"{hubs} hubs connecting (the fleet before the cut) ...")
        fleet.boot(boot_spread_s=0.0, jitter=True)
        if not await fleet.wait(lambda: fleet.connected() == hubs, timeout_s):
            raise RuntimeError(f"only {fleet.connected()} of {hubs} hubs connected before the cut")
        say("power cut: every hub at once")
        await fleet.cut_power()
        await fleet.wait(lambda: 0 <= counter.latest() <= base, 30.0)
        queued = fleet.queue_alerts()
        # Every hub's objects share this one heap: a full garbage collection of 5,000 hubs stalls the
        # loop for a second or more and bunches the connections due meanwhile, which no real hub (its
        # own process) would do. Collect the dead connections now, and keep what lives out of later passes.
        gc.collect()
        gc.freeze()
        mode = f"boot spread {window_s:g} s with jitter" if jitter else "no boot spread, no jitter"
        say(f"{queued} alerts queued; power restored for all ({mode}) ...")
        restore = fleet.boot(boot_spread_s=window_s if jitter else 0.0, jitter=jitter)
        done = await fleet.wait(fleet.all_acked, timeout_s)
        end = time.monotonic()
        await asyncio.sleep(2.0)  # a late duplicate still counts
        received = [a for p in platforms for a in list(p.alerts) if a["_received"] >= restore]
        # Each hub's first connection after the restore, from its own boot (booting a thousand
        # hubs in one process takes the simulation itself a second or so).
        firsts = [min(t for t in h.connected_at if t >= restore) - h.booted_at
                  for h in fleet.hubs if any(t >= restore for t in h.connected_at)]
        boot_loop_s = max(h.booted_at for h in fleet.hubs) - restore
        acks = [t - restore for h in fleet.hubs for a, t in h.acked_at.items() if a in h.queued]
        urgent = [h.acked_at[h.help_id] - restore for h in fleet.hubs if h.help_id in h.acked_at]
        stats = delivery([a for h in fleet.hubs for a in h.queued],
                         [a for h in fleet.hubs for a in h.acked_at], received)
        connacks = [t - restore for h in fleet.hubs for t in h.connected_at if t >= restore]
        _, busiest_at = busiest_second(connacks)
        skipped = sum(h.uplink.counters["boot_spread_skipped"] for h in fleet.hubs if h.uplink is not None)
        last = max(firsts, default=float("nan"))
        return {
            "hubs": hubs, "jitter": jitter, "window_s": window_s if jitter else 0.0, "platform_workers": len(platforms),
            "all_acknowledged": done,
            "peak_connect_rate_broker": round(counter.peak_rate(restore), 1),
            "peak_connect_rate_hubs": peak_rate(t for h in fleet.hubs for t in h.connected_at if t >= restore),
            # The platform's count: each hub says "online" right after its CONNACK, through the broker.
            "peak_online_rate_platform": peak_rate(s.at for p in platforms for s in list(p.statuses)
                                                   if s.at >= restore and not s.retain and s.payload == b"online"),
            "busiest_second_at_s": round(busiest_at, 2),
            "connected_in_first_second": sum(1 for t in connacks if t < boot_loop_s + 1.0),
            "hubs_connected": len(firsts), "all_connected": len(firsts) == hubs,
            "last_connected_s": round(last, 2), "boot_loop_s": round(boot_loop_s, 2),
            "all_connected_within_window": len(firsts) == hubs and last <= max(window_s, 1.0),
            "boot_spread_skipped": skipped,
            "time_to_all_acknowledged_s": round(max(acks, default=end - restore), 2),
            "emergencies": sum(1 for h in fleet.hubs if h.help_id), "emergencies_acknowledged": len(urgent),
            "emergency_acknowledged_s": {"median": round(statistics.median(urgent), 2),
                                         "max": round(max(urgent), 2)} if urgent else None,
            "alerts_per_worker": [sum(1 for a in list(p.alerts) if a["_received"] >= restore) for p in platforms],
            **stats,
        }
    finally:
        fleet.stop()
        gc.unfreeze()
