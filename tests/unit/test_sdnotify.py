"""The notify protocol against a real datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import socket

from gateway.pi_health import decode_throttled
from gateway.sdnotify import Notifier, watchdog_loop


def listener(tmp_path):
    path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(2)
    return s, str(path)


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(100))
        except BlockingIOError:
            return got


def test_messages_reach_the_socket(tmp_path):
    s, path = listener(tmp_path)
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    assert n.enabled and n.watchdog_interval_s == 2.0
    n.ready()
    n.status("running\nok")
    assert s.recv(100) == b"READY=1"
    assert s.recv(100) == b"STATUS=running ok"


def test_abstract_namespace_socket():
    name = f"carehub-test-{id(object())}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(2)
    Notifier({"NOTIFY_SOCKET": "@" + name}).stopping()
    assert s.recv(100) == b"STOPPING=1"


def test_no_op_outside_systemd():
    n = Notifier({})
    assert not n.enabled and n.watchdog_interval_s is None
    n.ready()  # nothing to send to, nothing raised


def test_watchdog_for_another_pid_is_ignored():
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_interval_s is None


async def test_pings_only_while_healthy(tmp_path):
    s, path = listener(tmp_path)
    s.setblocking(False)
    healthy = True
    task = asyncio.create_task(watchdog_loop(Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"}),
                                             lambda: healthy))
    await asyncio.sleep(0.3)
    got = drain(s)
    assert got and set(got) == {b"WATCHDOG=1"}
    healthy = False
    await asyncio.sleep(0.3)
    assert drain(s) == []
    task.cancel()


def test_throttled_bits():
    flags = decode_throttled(0x50005)
    assert flags["under_voltage_now"] and flags["throttled_now"] and flags["under_voltage_since_boot"]
    assert not flags["freq_capped_now"]
