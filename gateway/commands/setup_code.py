"""``carehub setup-code``: the one-time code that lets the first visitor of the page set its password."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.config import DEFAULT_PATH


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})")
    p.add_argument("--reset", action="store_true",
                   help="forget the technician password (it was lost): every login ends and a new code is made")


def run(args: argparse.Namespace) -> int:
    from gateway.commands.config_check import load_or_explain
    from gateway.web.security import Credentials

    cfg = load_or_explain(args.config)
    if cfg is None:
        return 2
    creds = Credentials(Path(cfg.storage.path).parent)
    try:
        code: str | None
        if args.reset:
            code = creds.reset()
            print("The technician password was removed; every open login has ended.", file=sys.stderr)
        elif creds.password_set():
            print("The technician password is already set, so there is no setup code.\n"
                  "Lost the password? Run: carehub setup-code --reset", file=sys.stderr)
            return 1
        else:
            code = creds.ensure_setup_code()
    except PermissionError as exc:
        print(f"carehub: {exc.filename}: permission denied (run as root or as the carehub user)", file=sys.stderr)
        return 1
    print(code)
    print(f"Open the hub's page (port {cfg.web.port}, /setup) and enter this code to set the password.",
          file=sys.stderr)
    return 0
