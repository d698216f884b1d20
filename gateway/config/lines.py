"""Where each key of a TOML file is written (line numbers for error messages)."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]#]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"'-]+?)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Key path (``detection.home.quiet_hours``, ``devices[1].address``) -> 1-based line number.

    A plain line scan, good for the files people write (no multi-line strings
    that start a line with ``key =``); a key it cannot place is simply absent.
    """
    out: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_multiline = not in_multiline
            if not in_multiline:
                continue
        elif in_multiline:
            continue
        header = _HEADER.match(line)
        if header:
            name = ".".join(part.strip().strip("\"'") for part in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counts.get(name, -1) + 1
                counts[name] = index
                table = f"{name}[{index}]"
            else:
                table = name
            out.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            name = ".".join(part.strip().strip("\"'") for part in key.group(1).split("."))
            path = f"{table}.{name}" if table else name
            out.setdefault(path, number)
    return out


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path``, or of the nearest enclosing key or table that is written."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None
