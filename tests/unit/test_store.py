"""The store survives a damaged database file instead of keeping the hub down."""

from __future__ import annotations

from gateway.store import Store, open_store


def test_a_damaged_database_is_set_aside_and_a_fresh_one_started(tmp_path):
    path = tmp_path / "carehub.db"
    s = Store(path)
    s.kv_set("x", "1")
    s.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xde\xad" * ((4096 - 100) // 2)  # an SD card after a bad power cut
    path.write_bytes(bytes(data))
    store, damaged = open_store(path)
    assert damaged is not None and damaged.quarantined.exists()
    assert store.outbox_depth() == 0 and store.kv_get("x") is None
    store.kv_set("y", "2")
    assert store.kv_get("y") == "2"


def test_a_healthy_database_is_kept(tmp_path):
    path = tmp_path / "carehub.db"
    s = Store(path)
    s.kv_set("x", "1")
    s.close()
    store, damaged = open_store(path)
    assert damaged is None and store.kv_get("x") == "1"


def test_sequence_file_is_written_in_place_and_survives_a_torn_copy(tmp_path):
    """The .seq file must be writable on a full card (same bytes rewritten) and readable after a torn write."""
    from gateway.sequence import SequenceFile

    path = tmp_path / "carehub.db.seq"
    f = SequenceFile(path)
    assert f.write(100, 0)
    inode, size = path.stat().st_ino, path.stat().st_size
    assert f.write(200, 7)
    assert (path.stat().st_ino, path.stat().st_size) == (inode, size), "rewritten in place, never replaced"
    data = bytearray(path.read_bytes())
    data[0:10] = b"\x00garbage\xff\x00"  # a power cut tore the first copy
    path.write_bytes(bytes(data))
    assert (SequenceFile(path).reserved, SequenceFile(path).claimed) == (200, 7)
    path.write_bytes(b"")
    assert SequenceFile(path).reserved == 0  # nothing readable: the database's counter holds
