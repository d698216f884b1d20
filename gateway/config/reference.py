"""Render the schema as docs/configuration.md, so the reference cannot drift from the code.

    python -m gateway.config.reference > docs/configuration.md
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from gateway.config import consistency, toml_edit
from gateway.config.schema import Config
from gateway.config.validation import _constraint_text


def _rows(cls: type, prefix: str) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(tp):
            rows += _rows(tp, path)  # type: ignore[arg-type]
            continue
        if typing.get_origin(tp) is list:
            (item,) = typing.get_args(tp)
            if dataclasses.is_dataclass(item):
                rows += _rows(item, f"{path}[]")  # type: ignore[arg-type]
                continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]  # optional: absent means unset
            if dataclasses.is_dataclass(tp):  # an optional table (a button's presses): its keys
                rows += _rows(tp, path)  # type: ignore[arg-type]
                continue
        default: Any = f.default if f.default is not dataclasses.MISSING else "(required)"
        if default == "(required)" and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        if typing.get_origin(tp) is typing.Literal:
            allowed = "one of " + ", ".join(f"`{c}`" for c in typing.get_args(tp))
        elif typing.get_origin(tp) is list:
            allowed = "a list of " + _constraint_text(typing.get_args(tp)[0], f.metadata)
        else:
            allowed = _constraint_text(tp, f.metadata)
        shown = "(unset)" if default is None else f"`{default!r}`" if default != "(required)" else default
        if f.metadata.get("secret"):
            allowed += " (secret: never logged or shown)"
        rows.append((path, shown.replace("'", '"'), allowed.replace("|", "\\|"), f.metadata.get("help", "")))
    return rows


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from `gateway/config/schema.py` by `python -m gateway.config.reference`; "
        "`tests/unit/test_config_reference.py` fails when this file is out of date.",
        "The file is TOML (default `/etc/carehub/carehub.toml`); a commented example is "
        "`config/carehub.example.toml`. The technician's page and the platform's `set_config` "
        "command are validated by the same schema. `[]` marks an array of tables (`[[devices]]`).",
        "",
        *toml_edit.DOC,
        *consistency.describe(),
        "## Keys",
        "",
        "| key | default | allowed | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{p}` | {d} | {a} | {h} |" for p, d, a, h in _rows(Config, "")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
