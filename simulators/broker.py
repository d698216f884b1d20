"""A real mosquitto broker on a free loopback port, for the demo, tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """``with Mosquitto() as broker: broker.port``; ``stop()``/``start()`` to simulate an outage."""

    def __init__(self, port: int | None = None, *, conf: str | None = None, persistent: bool = False) -> None:
        """A plain anonymous listener on ``port``; or, with ``conf``, exactly that
        configuration (``{port}`` in it is replaced by the port). ``persistent`` keeps
        sessions and queued messages on disk, saved after every change, as a production
        broker should: the fault tests kill it and start it again."""
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise FileNotFoundError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.exe = exe
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="carehub-mosquitto-"))
        self.conf = self._dir / "mosquitto.conf"
        body = conf.replace("{port}", str(self.port)) if conf else (
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        )
        # Started as root, mosquitto drops to its own user and then cannot read
        # certificates in a private temp dir; this throwaway broker may stay root.
        user = "user root\n" if os.geteuid() == 0 else ""
        persistence = (f"persistence true\npersistence_location {self._dir}/\nautosave_interval 1\n"
                       "autosave_on_changes true\n") if persistent else "persistence false\n"
        self.conf.write_text(f"{user}{persistence}log_dest stderr\nlog_type error\nlog_type warning\n{body}")
        # Every listener, not just the first: mosquitto opens them one after another.
        self.ports = [int(m) for m in re.findall(r"^listener (\d+)", body, re.M)] or [self.port]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        waiting = list(self.ports)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err.strip()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", waiting[0]), 0.2):
                waiting.pop(0)
                if not waiting:
                    return self
                continue
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {waiting[0]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """A crash: SIGKILL, nothing saved on the way down."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def forget(self) -> None:
        """Lose what was saved (a broker without persistence, or one killed before it saved)."""
        for f in self._dir.glob("*.db"):
            f.unlink()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
