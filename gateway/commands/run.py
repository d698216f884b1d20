"""``carehub run``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from pathlib import Path

from gateway.config import DEFAULT_PATH, Config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})")
    p.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                   help="log format (auto: JSON unless on a terminal)")


def damaged(path: Path) -> str | None:
    """Why ``path`` looks damaged (empty, not text, not TOML) rather than wrongly edited, or None.

    A power cut or a failing card can leave such a file; a person editing it
    leaves a file that parses but names a wrong key or value, which is refused.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if not raw.strip():
        return "the file is empty"  # valid TOML, but it would run the hub on bare defaults
    try:
        tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "the file is not UTF-8 text"
    except tomllib.TOMLDecodeError as exc:
        return f"the file is not valid TOML ({exc})"
    return None


def last_good(path: Path) -> tuple[Config, Path, str] | None:
    """The previous copy that ``save_atomic`` keeps (``.bak``), when the file itself is damaged."""
    from gateway.config import ConfigError, load

    why = damaged(path)
    backup = path.with_name(path.name + ".bak")
    if why is None or not backup.exists():
        return None
    try:
        return load(backup), backup, why
    except (OSError, ConfigError):
        return None


def run(args: argparse.Namespace) -> int:
    from gateway import logs
    from gateway.commands.config_check import load_or_explain

    # A hub that does not start watches nobody: a damaged file falls back to its last good copy.
    fallback = last_good(args.config)
    if fallback is not None:
        cfg: Config = fallback[0]
        print(f"carehub: {args.config} is damaged ({fallback[2]}): running on {fallback[1]}", file=sys.stderr)
    else:
        loaded = load_or_explain(args.config)
        if loaded is None:
            return 2
        cfg = loaded
    logs.setup(cfg.logging.level, json=None if args.log_format == "auto" else args.log_format == "json")
    if fallback is not None:
        import structlog

        structlog.get_logger("carehub.config").critical(
            "config.fallback_to_backup", path=str(args.config), backup=str(fallback[1]), problem=fallback[2])
    import sqlite3

    from gateway.daemon import run_hub

    try:
        return asyncio.run(run_hub(cfg, args.config))
    except (OSError, sqlite3.Error) as exc:
        # Storage that cannot be opened or created (permissions, a full disk) is the
        # one thing the hub cannot work around; a damaged file it replaces itself.
        print(f"carehub: cannot start: storage {cfg.storage.path}: {exc}", file=sys.stderr)
        return 1
