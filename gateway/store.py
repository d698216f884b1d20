"""The hub's durable memory: one SQLite file.

WAL with ``synchronous=FULL``: a commit returns only once it is on the SD card,
so an alert that has been stored survives a power cut (ARCHITECTURE.md,
"Durability"). Everything here runs on the event loop's thread; writes are few
and small (alerts, outbox rows, a journal batch every few seconds), never
per-sample.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.records import OPEN_STATES, AlertRow, OutboxRow, alert_from_row
from gateway.sequence import SequenceNumbers

__all__ = ["OPEN_STATES", "AlertRow", "OutboxRow", "Store", "StoreCorrupt", "open_store"]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    type TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    finding_key TEXT NOT NULL,
    device TEXT,
    room TEXT,
    level INTEGER NOT NULL DEFAULT 0,
    test INTEGER NOT NULL DEFAULT 0,
    boot_id TEXT NOT NULL,
    detected_wall REAL NOT NULL,
    raised_wall REAL NOT NULL,
    clock_synced INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    first_published_wall REAL,
    acked_wall REAL,
    acked_by TEXT,
    closed_reason TEXT,
    updated_wall REAL NOT NULL,
    last_sent_wall REAL
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state);
CREATE TABLE IF NOT EXISTS outbox (
    msg_id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    alert_id TEXT,
    created_wall REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS baselines (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_wall REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    wall REAL NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    room TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_wall ON journal(wall);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

class StoreCorrupt(Exception):
    """The database file is damaged; ``quarantined`` is where it was moved."""

    def __init__(self, quarantined: Path, reason: str) -> None:
        super().__init__(f"{reason}; the damaged file was kept as {quarantined}")
        self.quarantined = quarantined


def open_store(path: str | Path) -> tuple[Store, StoreCorrupt | None]:
    """Open the hub's database; a damaged one is set aside and a fresh one started.

    An SD card can be damaged by a power cut. A hub that refuses to start over
    it would watch nobody, so the damaged file (and its WAL) is kept for
    inspection under a ``.corrupt-<time>`` name and monitoring goes on with an
    empty store. Errors that a new file would not cure (permissions, a full
    disk) are raised as they are.
    """
    try:
        store = Store(path)
        bad = store._db.execute("PRAGMA quick_check").fetchone()[0]
        if bad == "ok":
            return store, None
        store.close()
        reason = f"integrity check failed: {bad}"
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
            raise
        reason = f"unreadable database: {exc}"
    target = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    quarantined = target.with_name(f"{target.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        side = Path(str(target) + suffix)
        if side.exists():
            side.replace(Path(str(quarantined) + suffix))
    fresh = Store(path)
    fresh.start_seq_after_reserved()
    return fresh, StoreCorrupt(quarantined, reason)


def _private_file(path: str) -> None:
    """The database holds a person's alerts and daily life: owner only (0600), whatever the umask.

    SQLite gives its -wal and -shm files the database file's mode, so setting it here,
    before SQLite opens the file, covers all three.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):  # left by an earlier run under another umask
        try:
            os.chmod(path + suffix, 0o600)
        except FileNotFoundError:
            pass


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _private_file(self.path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so that an alert and
        # its outbox row are one atomic, durable step.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._in_tx = False
        self._seq = SequenceNumbers(None if self.path == ":memory:" else Path(self.path + ".seq"), self._db_seq())

    def _migrate(self) -> None:
        cols = {r["name"] for r in self._db.execute("PRAGMA table_info(alerts)")}
        if "last_sent_wall" not in cols:  # schema 1 -> 2: the escalation clock survives restarts
            self._db.execute("ALTER TABLE alerts ADD COLUMN last_sent_wall REAL")
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable commit. Nested use joins the outer transaction."""
        if self._in_tx:
            yield self._db
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._in_tx = False

    # --- meta / kv ------------------------------------------------------------

    def _db_seq(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='alert_seq'").fetchone()
        return int(row["value"]) if row else 0

    def claim_seq(self) -> int:
        """A sequence number that was never issued, without touching the database.

        For a message sent from memory when the database cannot be written; the next
        stored alert continues above it.
        """
        return self._seq.claim()

    def note_claimed(self) -> None:
        """Note the numbers claimed from memory in the ``.seq`` file, once the message is on its way."""
        self._seq.note_claimed()

    def next_seq(self) -> int:
        """The site's next alert sequence number; call inside a transaction (gateway/sequence.py)."""
        with self.transaction() as db:
            seq = self._seq.next_for_db(self._db_seq())
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('alert_seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(seq),),
            )
        return seq

    def start_seq_after_reserved(self) -> None:
        """After a damaged database was replaced: continue above everything ever reserved (an honest gap)."""
        self._seq.after_replaced_database()

    def kv_get(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return row["value"] if row else default

    def kv_set(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def kv_delete(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM kv WHERE key=?", (key,))

    # --- alerts ---------------------------------------------------------------

    def insert_alert(self, row: AlertRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO alerts(id, seq, type, severity, state, finding_key, device, room, level, test,"
                " boot_id, detected_wall, raised_wall, clock_synced, evidence, first_published_wall,"
                " acked_wall, acked_by, closed_reason, updated_wall, last_sent_wall)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.id, row.seq, row.type, row.severity, row.state, row.finding_key, row.device,
                    row.room, row.level, int(row.test), row.boot_id, row.detected_wall,
                    row.raised_wall, int(row.clock_synced), json.dumps(row.evidence),
                    row.first_published_wall, row.acked_wall, row.acked_by, row.closed_reason,
                    time.time(), row.last_sent_wall,
                ),
            )

    def update_alert(self, alert_id: str, **fields: Any) -> None:
        if "evidence" in fields:
            fields["evidence"] = json.dumps(fields["evidence"])
        fields["updated_wall"] = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        with self.transaction() as db:
            db.execute(f"UPDATE alerts SET {cols} WHERE id=?", (*fields.values(), alert_id))

    def get_alert(self, alert_id: str) -> AlertRow | None:
        row = self._db.execute("SELECT * FROM alerts WHERE id=?", (alert_id,)).fetchone()
        return alert_from_row(row) if row else None

    def alerts(self, states: Iterable[str] | None = None, limit: int = 200) -> list[AlertRow]:
        if states is None:
            rows = self._db.execute("SELECT * FROM alerts ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            st = tuple(states)
            marks = ",".join("?" * len(st))
            rows = self._db.execute(
                f"SELECT * FROM alerts WHERE state IN ({marks}) ORDER BY seq DESC LIMIT ?", (*st, limit)
            )
        return [alert_from_row(r) for r in rows.fetchall()]

    def alerts_raised_since(self, since_wall: float, limit: int = 1000) -> list[tuple[str, str, str | None, float]]:
        """(type, severity, room, raised_wall) of the alerts raised since, tests left out: the day view's marks,
        read without each alert's evidence."""
        rows = self._db.execute(
            "SELECT type, severity, room, raised_wall FROM alerts WHERE test = 0 AND raised_wall >= ? "
            "ORDER BY raised_wall DESC LIMIT ?", (since_wall, limit)).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    # --- outbox ---------------------------------------------------------------

    def enqueue(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, alert_id: str | None = None
    ) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO outbox(topic, payload, qos, retain, alert_id, created_wall) VALUES (?,?,?,?,?,?)",
                (topic, payload, qos, int(retain), alert_id, time.time()),
            )
            return int(cur.lastrowid or 0)

    def outbox(self, after: int = 0, limit: int = 100) -> list[OutboxRow]:
        rows = self._db.execute(
            "SELECT * FROM outbox WHERE msg_id > ? ORDER BY msg_id LIMIT ?", (after, limit)
        ).fetchall()
        return [
            OutboxRow(r["msg_id"], r["topic"], bytes(r["payload"]), r["qos"], bool(r["retain"]),
                      r["alert_id"], r["created_wall"])
            for r in rows
        ]

    def outbox_done(self, msg_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM outbox WHERE msg_id=?", (msg_id,))

    def outbox_published(self, msg_id: int, wall: float) -> str | None:
        """The broker acknowledged ``msg_id``: one commit drops it from the outbox and, for
        an alert's first message out, records when it was published.

        Returns the alert the message was for (None if it was not an alert's, or not
        in the outbox any more).
        """
        with self.transaction() as db:
            row = db.execute("SELECT alert_id FROM outbox WHERE msg_id=?", (msg_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM outbox WHERE msg_id=?", (msg_id,))
            alert_id: str | None = row["alert_id"]
            if alert_id:
                db.execute(
                    "UPDATE alerts SET first_published_wall=?, updated_wall=?"
                    " WHERE id=? AND first_published_wall IS NULL",
                    (wall, wall, alert_id),
                )
            return alert_id

    def outbox_alert_ids(self) -> set[str]:
        """Alerts that have a message still waiting in the outbox."""
        rows = self._db.execute("SELECT DISTINCT alert_id FROM outbox WHERE alert_id IS NOT NULL")
        return {r["alert_id"] for r in rows.fetchall()}

    def outbox_depth(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    # --- learned baselines ----------------------------------------------------

    def load_baseline(self, name: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT state FROM baselines WHERE name=?", (name,)).fetchone()
        return json.loads(row["state"]) if row else None

    def save_baseline(self, name: str, state: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO baselines(name, state, updated_wall) VALUES (?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET state=excluded.state, updated_wall=excluded.updated_wall",
                (name, json.dumps(state), time.time()),
            )

    # --- journal (recent observations, bounded) -------------------------------

    def journal_append(self, rows: Iterable[tuple[float, str, str, str | None, dict[str, Any]]]) -> None:
        """Append a batch in one commit (SD-card wear: never one commit per observation)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO journal(wall, device, kind, room, detail) VALUES (?,?,?,?,?)",
                [(w, d, k, r, json.dumps(detail)) for (w, d, k, r, detail) in rows],
            )

    def journal_prune(self, before_wall: float) -> int:
        with self.transaction() as db:
            cur = db.execute("DELETE FROM journal WHERE wall < ?", (before_wall,))
            return cur.rowcount

    def journal_after(self, after_id: int, since_wall: float, kinds_not: Iterable[str] = (), limit: int = 50000,
                      ) -> list[tuple[int, float, str, str, str | None, dict[str, Any]]]:
        """Rows after journal id ``after_id`` and not before ``since_wall``, oldest first, without ``kinds_not``
        (the day view reads only what was journalled since its last look, and never 1 Hz vital signs)."""
        skip = tuple(kinds_not)
        marks = f" AND kind NOT IN ({','.join('?' * len(skip))})" if skip else ""
        rows = self._db.execute(
            f"SELECT id, wall, device, kind, room, detail FROM journal WHERE id > ? AND wall >= ?{marks} "
            "ORDER BY id LIMIT ?", (after_id, since_wall, *skip, limit)).fetchall()
        return [(r["id"], r["wall"], r["device"], r["kind"], r["room"], json.loads(r["detail"])) for r in rows]

    def journal_top_id(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM journal").fetchone()[0])

    def journal_recent(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT wall, device, kind, room, detail FROM journal ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [
            {"wall": r["wall"], "device": r["device"], "kind": r["kind"], "room": r["room"],
             "detail": json.loads(r["detail"])}
            for r in rows
        ]
