"""Learn mode for radars: which serial ports a radar might be on, and what answers on one.

A radar does not need pressing: it reports by itself, an LD2410 ten times a
second at 256000 baud, an MR60FDA2 its people/fall frames at 115200. Probing a
port opens it at each model's speed for a moment and feeds what arrives to that
model's framer (``drivers/radar``); the first model whose frames check out is
the answer. Only serial devices are ever opened (a character device whose
driver ``/proc/devices`` names as a serial line or pseudo-terminal): the path
comes from a web form, and opening ``/dev/watchdog`` or a console is not
harmless. Ports a configured radar or the RFLink gateway use are not touched
(the probe would steal their bytes). Blocking; call it in a thread.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.config import Config

CANDIDATE_GLOBS = ("/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA*", "/dev/serial0",
                   "/dev/serial1")
# /proc/devices names of serial lines and pseudo-terminal slaves (not consoles, not the tty multiplexer).
SERIAL_DRIVERS = ("ttyS", "ttyUSB", "ttyACM", "ttyAMA", "pts", "ttymxc", "ttyO", "ttySAC", "ttyTHS", "ttyMSM",
                  "ttyLP", "ttyGS")
LISTEN_S = {"ld2410": 1.5, "mr60fda2": 3.0}  # several frames of each at their documented rates
MAX_PORTS = 32
PORT_PATTERN = re.compile(r"^/[^\x00-\x1f]{1,255}$")
_ONE_AT_A_TIME = threading.Lock()  # each probe holds a port and a thread for seconds


def ports_in_use(cfg: Config) -> list[str]:
    return [r.port for r in cfg.radars] + ([cfg.rflink.port] if cfg.rflink.enabled else [])


def probe_port(cfg: Config, port: str) -> dict[str, Any]:
    """The page's probe: refused with a reason (``problem``), or what answered (``model``: None if nothing)."""
    problem = serial_problem(port, ports_in_use(cfg))
    if problem is not None:
        return {"model": None, "frames": 0, "error": None, "problem": problem}
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        return {"model": None, "frames": 0, "error": None, "problem": "busy"}
    try:
        return {**probe(port), "problem": None}
    finally:
        _ONE_AT_A_TIME.release()


def candidate_ports(in_use: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Serial ports on this machine, by-id names first, each with the configured part using it."""
    used = {_real(p): p for p in in_use}
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for pattern in CANDIDATE_GLOBS:
        for path in sorted(glob.glob(pattern)):
            real = _real(path)
            if real in seen or len(out) >= MAX_PORTS:
                continue
            seen.add(real)
            out.append({"port": path, "in_use": used.get(real) is not None})
    return out


def serial_problem(port: str, in_use: Iterable[str] = ()) -> str | None:
    """Why ``port`` may not be probed (a message key: learn.radar.<key>), or None."""
    if not PORT_PATTERN.match(port):
        return "not_serial"
    real = _real(port)
    try:
        st = os.stat(real)
    except OSError:
        return "missing"
    if not stat.S_ISCHR(st.st_mode) or not _is_serial_major(os.major(st.st_rdev), os.minor(st.st_rdev)):
        return "not_serial"
    if real in {_real(p) for p in in_use}:
        return "in_use"
    return None


def probe(port: str, models: Iterable[str] = ("ld2410", "mr60fda2")) -> dict[str, Any]:
    """Listen on ``port`` at each model's speed; ``{"model": m, "frames": n}`` or ``{"model": None}``."""
    import serial

    from drivers.radar.ld2410 import Ld2410Framer
    from drivers.radar.mr60fda2 import Mr60fda2Framer
    from drivers.radar.observations import BAUDRATES

    for model in models:
        framer: Ld2410Framer | Mr60fda2Framer = Ld2410Framer() if model == "ld2410" else Mr60fda2Framer()
        try:
            with serial.Serial(port, BAUDRATES[model], timeout=0.1) as link:
                link.reset_input_buffer()  # bytes from before (another speed) are not this model's
                deadline = time.monotonic() + LISTEN_S[model]
                frames = 0
                while time.monotonic() < deadline:
                    frames += len(framer.feed(link.read(512)))
                    if frames >= 2:  # two good frames: one could be chance
                        return {"model": model, "frames": frames, "error": None}
        except (OSError, serial.SerialException, ValueError) as exc:
            return {"model": None, "frames": 0, "error": str(exc)[:200]}
    return {"model": None, "frames": 0, "error": None}


def _real(path: str) -> str:
    return str(Path(path).resolve()) if path else ""


def _is_serial_major(major: int, minor: int) -> bool:
    if major == 4:
        return minor >= 64  # major 4 holds the virtual consoles tty0-63 and then ttyS0...
    try:
        text = Path("/proc/devices").read_text()
    except OSError:
        return False
    block = text.split("Block devices:", 1)[0]
    for line in block.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and int(parts[0]) == major:
            return parts[1] in SERIAL_DRIVERS
    return False
