"""Write new settings into the installer's TOML file, keeping its comments and layout (tomlkit).

Only keys whose value changed are touched; a key the file does not name is
written only when its new value differs from what the file meant by leaving it
out (its default). Arrays of tables (``[[devices]]``) are matched by ``id``:
removed entries are deleted, added ones appended in place, changed ones edited
key by key, the others left exactly as they were.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, MutableSequence
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

_ABSENT = object()

DOC = [
    "## Saving keeps the installer's file", "",
    "A save from the technician's page or from the platform's `set_config` writes only the settings that "
    "changed into the existing file and keeps its comments and layout (`gateway/config/toml_edit.py`, "
    "tomlkit). A key the file leaves out stays out while its value is the default. `[[devices]]` and the "
    "other arrays of tables are matched by `id`: an added, removed or changed entry is edited, the others "
    "stay as they were, byte for byte. If the edited text would not read back as exactly the settings the "
    "hub runs on, the file is written anew (logged as `config.rewritten_whole`). The previous file is kept "
    "as `carehub.toml.bak`, and both are replaced atomically (temp file, fsync, rename, fsync of the "
    "folder), so a power cut leaves the old or the new file, never half of one.", "",
]


def fresh(data: dict[str, Any]) -> str:
    """A whole file for ``data`` (no file to keep, or one tomlkit cannot read)."""
    return tomlkit.dumps(data)


def edited(text: str, new: dict[str, Any], effective: dict[str, Any] | None,
           entry_defaults: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """``text`` with the values of ``new`` written in.

    ``effective`` is what the file meant (every key, defaults filled in), so that a
    key left out stays left out while its value is unchanged; None when the file
    did not validate, and every value the file does not show is then written.
    ``entry_defaults`` (array name -> key -> default) keeps an added ``[[devices]]``
    entry to the keys that say something.
    """
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError:
        return fresh(new)
    _update(doc, new, effective, entry_defaults or {})
    return tomlkit.dumps(doc).rstrip("\n") + "\n"


def _update(node: MutableMapping[str, Any], new: dict[str, Any], meant: dict[str, Any] | None,
            entry_defaults: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    defaults_of = entry_defaults or {}
    for key in [k for k in node if k not in new]:
        del node[key]  # an optional key now unset, or one the schema does not know
    for key, value in new.items():
        was = meant.get(key, _ABSENT) if meant is not None else _ABSENT
        current = node.get(key, _ABSENT)
        if isinstance(value, dict):
            if isinstance(current, MutableMapping):
                _update(current, value, was if isinstance(was, dict) else None)
            elif value != was:
                _add_section(node, key, value, was if isinstance(was, dict) else None)
        elif _is_table_list(value) and isinstance(current, MutableSequence) and _all_tables(current):
            rebuilt = _update_entries(current, value, was if isinstance(was, list) else None,
                                      defaults_of.get(key, {}))
            if rebuilt is not None:
                node[key] = rebuilt
        elif current is _ABSENT:
            if value != was and value != []:
                node[key] = _new_entries(value, defaults_of.get(key, {})) if _is_table_list(value) else value
        elif value == [] and isinstance(current, MutableSequence) and _all_tables(current):
            del node[key]  # the last entry removed: an absent array means none
        elif _changed(_plain(current), value):
            node[key] = _new_entries(value, defaults_of.get(key, {})) if _is_table_list(value) else value


def _add_section(node: MutableMapping[str, Any], key: str, value: dict[str, Any],
                 meant: dict[str, Any] | None) -> None:
    """A ``[section]`` the file does not have, with only the keys that differ from what its absence meant."""
    wanted = {k: v for k, v in value.items() if meant is None or meant.get(k, _ABSENT) != v}
    scalars = {k: v for k, v in wanted.items() if not isinstance(v, dict)}
    table = tomlkit.table(is_super_table=not scalars)
    for k, v in scalars.items():
        table[k] = _new_entries(v) if _is_table_list(v) else v
    if scalars:
        table.add(tomlkit.nl())
    node[key] = table
    for k, v in wanted.items():
        if isinstance(v, dict):
            _add_section(table, k, v, meant.get(k) if meant is not None else None)


def _update_entries(entries: MutableSequence[Any], new: list[dict[str, Any]],
                    meant: list[dict[str, Any]] | None, defaults: Mapping[str, Any]) -> AoT | None:
    """The entries edited in place, or (for an array of tables) a new array holding the same tables,
    which carry their own comments, in the new order with the added ones."""
    ids = [_id(e) for e in entries]
    new_ids = [_id(e) for e in new]
    by_id = _unique(ids) and _unique(new_ids) and None not in ids and None not in new_ids
    if not by_id:  # no usable ids (another kind of list, or a broken file): entry by position
        ids, new_ids = list(range(len(entries))), list(range(len(new)))
    meant_by = {(_id(m) if by_id else i): m for i, m in enumerate(meant or [])}
    old = dict(zip(ids, list(entries), strict=True))
    tables = []
    for k, entry in zip(new_ids, new, strict=True):
        if k in old:
            _update(old[k], entry, meant_by.get(k))
            tables.append(old[k])
        else:
            tables.append(_new_table(entry, defaults))
    if [id(t) for t in tables] == [id(t) for t in entries]:
        return None  # the same entries in the same order, edited in place
    # A new array holding the same tables; "parsed" keeps tomlkit from adding blank lines of its own.
    aot = AoT([], parsed=True)
    for i, table in enumerate(tables):
        if i and id(table) not in {id(e) for e in entries} and not tables[i - 1].as_string().endswith("\n\n"):
            table.trivia.indent = "\n"  # an added entry after one that ended the file: a blank line between
        aot.append(table)
    return aot


def _new_entries(value: list[dict[str, Any]], defaults: Mapping[str, Any] | None = None) -> AoT:
    aot = tomlkit.aot()
    for entry in value:
        aot.append(_new_table(entry, defaults or {}))
    return aot


def _new_table(entry: dict[str, Any], defaults: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    for k, v in entry.items():
        if k in defaults and not _changed(defaults[k], v):
            continue  # what leaving the key out means anyway
        table[k] = v
    table.add(tomlkit.nl())
    return table


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _changed(old: Any, new: Any) -> bool:
    """45 in the file and 45.0 in the config are the same setting (the file's spelling stays);
    ``true`` and 1 are not."""
    if old != new:
        return True
    numbers = (int, float)
    return type(old) is not type(new) and not (
        isinstance(old, numbers) and isinstance(new, numbers) and not isinstance(old, bool)
        and not isinstance(new, bool))


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _all_tables(items: MutableSequence[Any]) -> bool:
    return isinstance(items, AoT) or (bool(items) and all(isinstance(i, MutableMapping | Container)
                                                          for i in items))


def _id(entry: Any) -> Any:
    value = _plain(entry.get("id")) if isinstance(entry, MutableMapping) else None
    return value if isinstance(value, str) else None


def _unique(values: list[Any]) -> bool:
    return len(set(values)) == len(values)
