"""Progress of a long command on stderr, only when a person is watching (stderr is a terminal).

Scripts and the judges' scorers read stdout and never see it; a log file or a
pipe gets no carriage-return clutter.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
_EVERY_S = 0.25  # redraw at most four times a second: a Pi's serial console is slow


class Progress:
    def __init__(self, label: str, total: float, unit: str = "", stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.shown = _is_terminal(self._stream)
        self._label, self._total, self._unit = label, max(total, 1e-9), unit
        self._started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def update(self, done: float, note: str = "") -> None:
        now = time.monotonic()
        if not self.shown or now - self._drawn < _EVERY_S:
            return
        self._drawn = now
        share = min(max(done / self._total, 0.0), 1.0)
        elapsed = now - self._started
        left = f", about {_span(elapsed / share - elapsed)} left" if share > 0.02 else ""
        count = f" ({done:g}/{self._total:g}{' ' + self._unit if self._unit else ''})" if self._unit else ""
        line = f"{self._label}: {share:4.0%}{count}{left}{'  ' + note if note else ''}"
        self._stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self._stream.flush()

    def done(self) -> None:
        if self.shown and self._width:
            self._stream.write("\r" + " " * self._width + "\r")  # leave the terminal as it was
            self._stream.flush()
            self._width = 0

    def over(self, items: Iterable[T], position: Callable[[int, T], float] | None = None) -> Iterator[T]:
        """``items`` unchanged, the bar moved by each (its index + 1, or ``position(i, item)``)."""
        try:
            for i, item in enumerate(items):
                yield item
                self.update(position(i, item) if position else i + 1)
        finally:
            self.done()


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
