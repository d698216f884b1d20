"""Alert sequence numbers that never repeat: across restarts, storage failures and a replaced database.

The number normally comes from the database, in the alert's own transaction. Beside
the database, ``<db>.seq`` keeps two numbers: the **reserved bound** (every number
ever issued is at most this; moved up 100 at a time, so one small write per 100
alerts) and the **highest number claimed from memory** (handed out while the card
refused writes, so the database never saw it). At start the hub continues above the
database's counter and the claimed number; after a damaged database was set aside,
above the reserved bound: the gap that leaves says honestly that alerts may have
been lost with the damaged file (docs/mqtt.md, "Sequence numbers").

The file is written in place, always the same 1 KiB (two checksummed copies of the
record, each fsynced), so it can still be written on a card that is full, which is
when numbers are claimed from memory; a write torn by a power cut spoils one copy at
most, and the reader takes the newest copy that checks.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path

SEQ_BLOCK = 100
_COPY = 512  # one sector per copy
_COPIES = 2


class SequenceFile:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.reserved, self.claimed = self._read()

    def _read(self) -> tuple[int, int]:
        if self.path is None:
            return 0, 0
        try:
            data = self.path.read_bytes()
        except OSError:
            return 0, 0  # a new hub: the database's own counter holds
        best = (0, 0)
        for i in range(_COPIES):
            record = _parse(data[i * _COPY:(i + 1) * _COPY])
            if record is not None and record > best:
                best = record
        return best

    def write(self, reserved: int, claimed: int) -> bool:
        """Record both numbers durably; False when the card refused (the caller goes on regardless)."""
        if self.path is None:
            return True
        body = f"{reserved} {claimed}"
        record = f"{body} {zlib.crc32(body.encode()):08x}".ljust(_COPY - 1).encode() + b"\n"
        try:
            new = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                for i in range(_COPIES):
                    os.pwrite(fd, record, i * _COPY)
                    os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                _fsync_dir(self.path.parent)
        except OSError:
            return False
        self.reserved, self.claimed = max(self.reserved, reserved), max(self.claimed, claimed)
        return True


class SequenceNumbers:
    """Issues the site's alert sequence numbers; the database's counter is passed in by the store."""

    def __init__(self, path: Path | None, db_counter: int) -> None:
        self._file = SequenceFile(path)
        self._claimed = self._claimed_noted = self._file.claimed
        self.issued = max(db_counter, self._file.claimed)

    def next_for_db(self, db_counter: int) -> int:
        """The next number, for an alert the database is storing now."""
        seq = max(db_counter, self.issued) + 1
        self._reserve(seq)
        self.issued = seq
        return seq

    def claim(self) -> int:
        """A number for a message sent from memory (the database refused it)."""
        seq = self.issued + 1
        self._reserve(seq)
        self.issued = seq
        self._claimed = seq
        return seq

    def note_claimed(self) -> None:
        """After a storage failure: write down every number handed out so far, once the message is on its way.

        All of them, not only those from ``claim``: a number the database gave inside a
        transaction that then failed was rolled back with it, but the message sent from
        memory carries it.
        """
        self._claimed = max(self._claimed, self.issued)
        if self._claimed > self._claimed_noted and self._file.write(self._file.reserved, self._claimed):
            self._claimed_noted = self._claimed

    def after_replaced_database(self) -> None:
        self.issued = max(self.issued, self._file.reserved)

    def _reserve(self, seq: int) -> None:
        if seq > self._file.reserved:
            # On failure the number is still used (a help call never waits for this file).
            self._file.write(seq + SEQ_BLOCK - 1, self._claimed_noted)


def _parse(chunk: bytes) -> tuple[int, int] | None:
    try:
        reserved, claimed, crc = chunk.decode("ascii").split()
        body = f"{int(reserved)} {int(claimed)}"
        if int(crc, 16) != zlib.crc32(body.encode()):
            return None
        return int(reserved), int(claimed)
    except (UnicodeDecodeError, ValueError):
        return None


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
