"""Loading, validating and atomically saving the hub's TOML configuration."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tomllib
import typing
from pathlib import Path
from typing import Any

import structlog

from gateway.config.lines import key_lines, line_of
from gateway.config.schema import Config
from gateway.config.validation import (
    ConfigError,
    FieldError,
    secret_paths,
    to_data,
    validate,
)

DEFAULT_PATH = Path("/etc/carehub/carehub.toml")

__all__ = [
    "DEFAULT_PATH",
    "Config",
    "ConfigError",
    "FieldError",
    "differences",
    "load",
    "merge",
    "save_atomic",
    "secret_paths",
    "to_data",
    "validate",
    "write_atomic",
]


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate a TOML file. Raises ConfigError (with key paths) or OSError."""
    raw = Path(path).read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([FieldError("<file>", str(path), f"UTF-8 text ({exc.reason})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([FieldError("<file>", str(path), f"valid TOML ({exc})")]) from exc
    try:
        return validate(data)
    except ConfigError as exc:
        lines = key_lines(raw.decode("utf-8"))
        raise ConfigError([dataclasses.replace(e, line=line_of(lines, e.path)) for e in exc.errors]) from None


def merge(cfg: Config, changes: dict[str, Any]) -> Config:
    """Apply nested ``changes`` (same shape as the file) to ``cfg`` and re-validate all of it."""
    data = to_data(cfg)
    _deep_update(data, changes)
    return validate(data)


def differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key path, old value, new value) for every setting that differs between two plain configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            out += differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        return out
    return [] if old == new else [(prefix, old, new)]


def _deep_update(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _deep_update(dst[key], value)
        else:
            dst[key] = value


def save_atomic(cfg: Config, path: str | os.PathLike[str]) -> None:
    """Write ``cfg`` so that a power cut leaves either the old or the new file.

    Only the settings that changed are written into the existing file, so the
    installer's comments and layout stay (gateway/config/toml_edit.py). Temp file
    in the same directory, fsync, keep the previous copy as ``.bak``, rename over,
    fsync the directory.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.read_bytes() if target.exists() else None
    if previous is not None:
        # The previous copy is itself written atomically, so at every instant the
        # directory holds a complete carehub.toml.
        write_atomic(target.with_name(target.name + ".bak"), previous)
    write_atomic(target, config_text(cfg, previous).encode("utf-8"))


def config_text(cfg: Config, previous: bytes | None) -> str:
    """The file's new text: ``previous`` with what changed written in, or a whole new file."""
    # Here, not at the top: tomlkit is only needed to save, and a hub saves rarely (~1 MB of RSS).
    from gateway.config import toml_edit

    new = to_data(cfg)
    if previous is None:
        return toml_edit.fresh(new)
    try:
        text = previous.decode("utf-8")
        meant: dict[str, Any] | None = None
        with contextlib.suppress(ConfigError):
            meant = to_data(validate(tomllib.loads(text)))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return toml_edit.fresh(new)  # nothing readable to keep
    out = toml_edit.edited(text, new, meant, entry_defaults())
    # The file must say exactly what the hub now runs on; an edit that does not is never written.
    try:
        same = to_data(validate(tomllib.loads(out))) == new
    except (ConfigError, tomllib.TOMLDecodeError):
        same = False
    if not same:
        structlog.get_logger("carehub.config").warning(
            "config.rewritten_whole", why="the edit kept the comments but not the values")
        return toml_edit.fresh(new)
    return out


def entry_defaults() -> dict[str, dict[str, Any]]:
    """For each array of tables (``devices``...), the defaults of its entries' keys."""
    out: dict[str, dict[str, Any]] = {}
    hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        args = typing.get_args(hints[f.name])
        if typing.get_origin(hints[f.name]) is list and args and dataclasses.is_dataclass(args[0]):
            defaults = {g.name: _default(g) for g in dataclasses.fields(args[0])}
            out[f.name] = {k: to_data(v) for k, v in defaults.items() if v is not dataclasses.MISSING}
    return out


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    factory = f.default_factory
    return factory() if callable(factory) else dataclasses.MISSING


def write_atomic(target: Path, data: bytes, mode: int = 0o640) -> None:
    """Replace ``target`` with ``data`` so that a power cut leaves the old or the new file, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked, on a nearly full card for one
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        # A full card: leave no half-written temp file behind to take the last free blocks.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
