"""The audit log of configuration changes: who, when, what. Never a secret's value.

One JSON object per line in the state directory, appended and fsynced, so the
history survives power cuts and can be read with any tool. The page shows the
newest entries, read from the file's end only. The file is bounded: past
``MAX_BYTES`` it becomes ``audit.jsonl.1`` (replacing the one before) and a new
one starts, so a hub changed often keeps at least the last ``MAX_BYTES`` of history.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from gateway.config import differences

AUDIT_FILE = "audit.jsonl"
SECRET_MARK = "(changed, not shown)"
MAX_VALUE_CHARS = 200
MAX_BYTES = 1024 * 1024  # some thousands of changes; an SD card and a Pi's memory do not notice
TAIL_BYTES = 256 * 1024  # what the page reads to find the newest entries


# The config's lists of devices: recorded item by item (added, removed, each field changed), so that
# the log can say "added door-back (door contact, entrance)" rather than show two lists.
DEVICE_LISTS = ("devices", "wearables", "radars", "zigbee_devices", "rtl433_devices")


def changes(old: dict[str, Any], new: dict[str, Any], secrets: set[str]) -> list[dict[str, Any]]:
    """Every changed key path with its old and new value; secrets only as changed; devices one by one:
    ``{"path": "devices", "id": ..., "old": None, "new": {item}}`` when added, the reverse when removed,
    and ``{"path": "devices", "id": ..., "key": "room", "old": ..., "new": ...}`` per changed field."""
    out: list[dict[str, Any]] = []
    for path, a, b in differences(old, new):
        if path in secrets:
            out.append({"path": path, "old": SECRET_MARK, "new": SECRET_MARK})
        elif path in DEVICE_LISTS and _items(a) is not None and _items(b) is not None:
            out += item_changes(path, _items(a) or [], _items(b) or [])
        else:
            out.append({"path": path, "old": _short(a), "new": _short(b)})
    return out


def item_changes(path: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    before = {str(d["id"]): d for d in old}
    after = {str(d["id"]): d for d in new}
    out: list[dict[str, Any]] = []
    for item_id, item in before.items():
        if item_id not in after:
            out.append({"path": path, "id": item_id, "old": _item(item), "new": None})
    for item_id, item in after.items():
        was = before.get(item_id)
        if was is None:
            out.append({"path": path, "id": item_id, "old": None, "new": _item(item)})
            continue
        for key in sorted(set(was) | set(item)):
            if was.get(key) != item.get(key):
                out.append({"path": path, "id": item_id, "key": key, "old": _short(was.get(key)),
                            "new": _short(item.get(key))})
    return out


def _items(value: Any) -> list[dict[str, Any]] | None:
    """A list of tables with ids (or nothing: the list did not exist), else None."""
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value):
        return value
    return None


def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _short(v) for k, v in item.items()}


def _short(value: Any) -> Any:
    """The value, or its beginning: a short list stays a list (the log renders it), a long one text."""
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False)
        return value if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value


class AuditLog:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / AUDIT_FILE

    def record(self, who: str, action: str, changed: list[dict[str, Any]]) -> None:
        entry = {"wall": time.time(), "who": who, "action": action, "changes": changed}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.path.stat().st_size >= MAX_BYTES:
                os.replace(self.path, self.path.with_name(AUDIT_FILE + ".1"))
        except FileNotFoundError:
            pass
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def recent(self, limit: int = 30) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first, from the ends of the file and the one before it
        (at most ``TAIL_BYTES`` each; blocking I/O, called in a thread)."""
        out = _tail_entries(self.path, limit)
        if len(out) < limit:  # just rotated: the newest history is in the previous file
            out += _tail_entries(self.path.with_name(AUDIT_FILE + ".1"), limit - len(out))
        return out


def _tail_entries(path: Path, limit: int) -> list[dict[str, Any]]:
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            f.seek(start)
            data = f.read(TAIL_BYTES)
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # cut in the middle by the start of the window
    out: list[dict[str, Any]] = []
    for line in reversed(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a power failure
        if len(out) >= limit:
            break
    return out
