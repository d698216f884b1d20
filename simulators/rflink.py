"""An RFLink gateway on a pseudo-terminal, speaking the real serial text protocol.

The daemon opens the pty's slave end exactly as it opens a USB gateway, through
a stable link path standing in for ``/dev/serial/by-id/...``. ``vanish`` and
``reappear`` imitate pulling the USB plug and putting it back: the link
disappears and comes back pointing at a new pty.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from drivers.rflink.codec import encode_frame
from simulators import pty_device

BANNER = b"20;00;Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R48;\r\n"


@dataclass(frozen=True)
class RadioCode:
    protocol: str
    address: str
    switch: str = ""


class RflinkEmulator(pty_device.Pluggable):
    """Call ``start()``; then ``link`` is the path to configure as the RFLink port."""

    def __init__(self, link: str | Path, *, answer_ping: bool = True) -> None:
        self.link = Path(link)
        self.answer_ping = answer_ping
        self._master: int | None = None
        self._slave: int | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._running = False
        self.received: list[bytes] = []

    # --- plug -----------------------------------------------------------------

    def start(self) -> RflinkEmulator:
        self._open()
        return self

    def _open(self) -> None:
        master, slave = pty_device.plug(self.link)
        self._master, self._slave = master, slave
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, args=(master,), daemon=True)
        self._reader.start()
        self.write_raw(BANNER)

    def _close(self) -> None:
        self._running = False
        pty_device.close_ends(self._lock, self._master, self._slave)
        self._master = self._slave = None
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None

    # --- radio ----------------------------------------------------------------

    def frame(self, code: RadioCode, command: str = "ON", *, battery: str | None = None,
              repeats: int = 1) -> None:
        """What the gateway prints when it hears ``code`` (``repeats`` copies, as a burst)."""
        for _ in range(repeats):
            self._seq += 1
            self.write_raw(encode_frame(self._seq, code.protocol, code.address, code.switch or None,
                                        command, battery))

    def write_raw(self, data: bytes) -> None:
        with self._lock:
            if self._master is None:
                raise RuntimeError("the emulated gateway is unplugged")
            os.write(self._master, data)

    def _read_loop(self, master: int) -> None:
        buf = b""
        while self._running:
            try:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(master, 1024)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip()
                self.received.append(line)
                if self.answer_ping and line == b"10;PING;":
                    self._seq += 1
                    with contextlib.suppress(OSError, RuntimeError):
                        self.write_raw(f"20;{self._seq % 256:02X};PONG;\r\n".encode())


@dataclass(frozen=True)
class Step:
    after_s: float
    device: str
    command: str = "ON"
    battery: str | None = None
    repeats: int = 3
    note: str = ""


def load_scenario(path: str | Path) -> list[Step]:
    """A scenario file: ``[[step]]`` tables with after_s, device, command, battery, repeats, note."""
    data = tomllib.loads(Path(path).read_text("utf-8"))
    steps = data.get("step", [])
    if not isinstance(steps, list):
        raise ValueError("scenario: 'step' must be an array of tables")
    return [Step(**{k: v for k, v in s.items() if k in Step.__dataclass_fields__}) for s in steps]


def play(emulator: RflinkEmulator, steps: list[Step], codes: dict[str, RadioCode],
         on_step: object = None) -> None:
    """Play steps in real time; ``on_step(step)`` is called before each."""
    for step in steps:
        time.sleep(step.after_s)
        if callable(on_step):
            on_step(step)
        code = codes.get(step.device)
        if code is None:
            raise KeyError(f"scenario names device {step.device!r}, which the config does not list")
        emulator.frame(code, step.command, battery=step.battery, repeats=step.repeats)
