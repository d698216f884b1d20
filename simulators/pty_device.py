"""A serial device on a pseudo-terminal behind a stable path, as udev's by-id link would be.

Every emulator of a serial device (RFLink, the radars, the modem) plugs the same
way: a raw pty without echo, its slave's name behind ``link`` (replaced
atomically, so a driver reopening the path never sees it half made), and an
unplug that removes the link and closes both ends so the open port errors out.
"""

from __future__ import annotations

import contextlib
import os
import termios
import tty
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any


def plug(link: Path) -> tuple[int, int]:
    """Open a raw, echo-less pty and point ``link`` at it; (master, slave)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    tmp = link.with_name(link.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(os.ttyname(slave), tmp)
    os.replace(tmp, link)
    return master, slave


def unplug_link(link: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        link.unlink()


def close_ends(lock: AbstractContextManager[Any], *fds: int | None) -> None:
    """Close the pty's ends (under the emulator's write lock, so no write races the close)."""
    with lock:
        for fd in fds:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


class Pluggable(ABC):
    """Plug, unplug and plug again: what every emulated serial device does the same way."""

    link: Path

    @abstractmethod
    def _open(self) -> None:
        """Plug in (``plug``) and start answering."""

    @abstractmethod
    def _close(self) -> None:
        """Stop answering and close the pty's ends (``close_ends``)."""

    def vanish(self) -> None:
        """Unplug: the link goes away and the open port errors out."""
        unplug_link(self.link)
        self._close()

    def reappear(self) -> None:
        self._open()

    def stop(self) -> None:
        self.vanish()
