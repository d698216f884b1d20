"""An mmWave radar on a pseudo-terminal, speaking the real binary frames.

Like the real modules it reports continuously: an LD2410 sends its target report
ten times a second, an MR60FDA2 its people and fall reports once a second. The
scene (who is there, moving or still, how far, fallen or not) is set from the
outside; ``vanish``/``reappear`` imitate pulling the USB adapter and putting it back.
"""

from __future__ import annotations

import os
import select
import threading
from dataclasses import dataclass
from pathlib import Path

from drivers.radar import ld2410, mr60fda2
from drivers.radar.ld2410 import TargetReport, TargetState
from simulators import pty_device

STATES = ("none", "moving", "still")
_TARGET = {"none": TargetState.NONE, "moving": TargetState.MOVING, "still": TargetState.STILL}


@dataclass
class Scene:
    state: str = "none"  # none, moving, still
    distance_m: float = 0.0
    fallen: bool = False


def frames_for(model: str, scene: Scene, frame_id: int = 0) -> bytes:
    """One reporting period's bytes for ``scene``."""
    cm = max(0, min(0xFFFF, round(scene.distance_m * 100)))
    if model == "ld2410":
        state = _TARGET[scene.state]
        moving = state is TargetState.MOVING
        report = TargetReport(state, moving_cm=cm if moving else 0, moving_energy=60 if moving else 0,
                              still_cm=cm if state is TargetState.STILL else 0,
                              still_energy=45 if state is TargetState.STILL else 0,
                              detection_cm=cm if state is not TargetState.NONE else 0)
        return ld2410.encode(report)
    return mr60fda2.people(scene.state != "none", frame_id) + mr60fda2.fall(scene.fallen, frame_id + 1)


class RadarEmulator(pty_device.Pluggable):
    """Call ``start()``; then ``link`` is the path to configure as the radar's port."""

    def __init__(self, link: str | Path, model: str = "ld2410") -> None:
        if model not in ("ld2410", "mr60fda2"):
            raise ValueError(f"unknown radar model {model!r}")
        self.link = Path(link)
        self.model = model
        self.period_s = 0.1 if model == "ld2410" else 1.0
        self.scene = Scene()
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self._frame_id = 0
        self.sent_frames = 0

    def start(self) -> RadarEmulator:
        self._open()
        return self

    def set(self, state: str | None = None, distance_m: float | None = None, fallen: bool | None = None) -> None:
        """Change the scene; the next report (sent at once) says so."""
        with self._lock:
            if state is not None:
                if state not in STATES:
                    raise ValueError(f"state must be one of {STATES}")
                self.scene.state = state
            if distance_m is not None:
                self.scene.distance_m = distance_m
            if fallen is not None:
                self.scene.fallen = fallen
        self._wake.set()

    def write_raw(self, data: bytes) -> None:
        with self._lock:
            if self._master is None:
                raise RuntimeError("the emulated radar is unplugged")
            os.write(self._master, data)

    def _open(self) -> None:
        master, slave = pty_device.plug(self.link)
        self._master, self._slave = master, slave
        self._running = True
        self._thread = threading.Thread(target=self._report_loop, args=(master,), daemon=True)
        self._thread.start()

    def _close(self) -> None:
        self._running = False
        self._wake.set()
        pty_device.close_ends(self._lock, self._master, self._slave)
        self._master = self._slave = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _report_loop(self, master: int) -> None:
        while self._running:
            with self._lock:
                data = frames_for(self.model, self.scene, self._frame_id)
                self._frame_id = (self._frame_id + 2) & 0xFFFF
            try:
                # Drain what the hub writes (nothing today) so the pty never fills; then report.
                ready, _, _ = select.select([master], [], [], 0)
                if ready:
                    os.read(master, 1024)
                os.write(master, data)
                self.sent_frames += 1
            except OSError:
                return
            self._wake.wait(self.period_s)
            self._wake.clear()
