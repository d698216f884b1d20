"""``carehub config check``: validate a config file and say exactly what is wrong."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.config import DEFAULT_PATH, Config, ConfigError, load


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})")


def load_or_explain(path: Path) -> Config | None:
    """The validated config, or None after printing every problem to stderr."""
    try:
        return load(path)
    except FileNotFoundError:
        print(f"carehub: config file {path} does not exist (copy config/carehub.example.toml)",
              file=sys.stderr)
    except PermissionError:
        print(f"carehub: config file {path} is not readable by this user", file=sys.stderr)
    except IsADirectoryError:
        print(f"carehub: config path {path} is a directory, not a file", file=sys.stderr)
    except ConfigError as exc:
        print(f"carehub: invalid config {path}:", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
    return None


def config_or_defaults(path: Path | None) -> Config | None:
    """The config at ``path`` (None after explaining why it is unusable), or the schema's defaults."""
    return Config() if path is None else load_or_explain(path)


def run(args: argparse.Namespace) -> int:
    cfg = load_or_explain(args.config)
    if cfg is None:
        return 2
    print(f"{args.config}: valid ({len(cfg.devices)} radio devices, {len(cfg.wearables)} wearables)")
    return 0
