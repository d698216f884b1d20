"""``carehub run``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from gateway.config import DEFAULT_PATH


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})")
    p.add_argument("--log-format", choices=("auto", "json", "console"), default="auto",
                   help="log format (auto: JSON unless on a terminal)")


def run(args: argparse.Namespace) -> int:
    from gateway import logs
    from gateway.commands.config_check import load_or_explain

    cfg = load_or_explain(args.config)
    if cfg is None:
        return 2
    logs.setup(cfg.logging.level, json=None if args.log_format == "auto" else args.log_format == "json")
    import sqlite3

    from gateway.daemon import run_hub

    try:
        return asyncio.run(run_hub(cfg, args.config))
    except (OSError, sqlite3.Error) as exc:
        # Storage that cannot be opened or created (permissions, a full disk) is the
        # one thing the hub cannot work around; a damaged file it replaces itself.
        print(f"carehub: cannot start: storage {cfg.storage.path}: {exc}", file=sys.stderr)
        return 1
