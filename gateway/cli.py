"""The ``carehub`` command.

Every subcommand lives in its own module under ``gateway/commands/`` with two
functions, ``add_arguments(parser)`` and ``run(args) -> int``. Modules import
their heavy dependencies inside ``run`` so that ``carehub --help`` stays quick on
a Pi. Commands that start simulators are the only ones allowed to import
``simulators`` (ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

# (words, module, one-line help)
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("run",), "gateway.commands.run", "run the hub daemon"),
    (("demo",), "gateway.commands.demo", "run everything on simulated hardware"),
    (("config", "check"), "gateway.commands.config_check", "validate a config file"),
    (("sim", "rflink"), "gateway.commands.sim_rflink", "emulate an RFLink gateway on a pseudo-terminal"),
    (("sim", "radar"), "gateway.commands.sim_radar", "emulate an mmWave radar (LD2410, MR60FDA2) on a pseudo-terminal"),
    (("sim", "modem"), "gateway.commands.sim_modem",
     "emulate a cellular modem (SIM7600 / EC2x AT dialogue) on a pseudo-terminal"),
    (("sim", "zigbee2mqtt"), "gateway.commands.sim_zigbee2mqtt",
     "publish Zigbee2MQTT device payloads to a broker"),
    (("sim", "rtl433"), "gateway.commands.sim_rtl433", "print or publish rtl_433 JSON events"),
    (("sim", "platform"), "gateway.commands.sim_platform", "emulate the care platform"),
    (("sim", "fleet"), "gateway.commands.sim_fleet",
     "N hubs' uplinks through a district power cut against a real broker (docs/fleet.md)"),
    (("sim", "home"), "gateway.commands.sim_home", "generate a synthetic home event log"),
    (("sim", "wearable"), "gateway.commands.sim_wearable", "emulate carehub-profile wearables on a socket"),
    (("sim", "health"), "gateway.commands.sim_health",
     "emulate SIG health devices (watch, oximeter, cuff, scale) with a scenario"),
    (("replay", "wearable"), "gateway.commands.replay_wearable", "replay accelerometer trials"),
    (("replay", "home"), "gateway.commands.replay_home", "replay a home event log"),
    (("replay", "vitals"), "gateway.commands.replay_vitals", "replay a vital-signs recording"),
    (("eval", "fall"), "gateway.commands.eval_fall", "evaluate fall detection on trials"),
    (("eval", "home"), "gateway.commands.eval_home", "evaluate home monitoring on an event log"),
    (("train", "fall"), "gateway.commands.train_fall", "fit the fall detector's parameters"),
    (("doctor",), "gateway.commands.doctor", "check this hub and say what to fix"),
    (("setup-code",), "gateway.commands.setup_code", "show the technician page's one-time setup code"),
]


def _version() -> str:
    try:
        return metadata.version("carehub")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _show_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return 0
    return show


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carehub", description="In-home safety gateway")
    parser.add_argument("--version", action="version", version=f"carehub {_version()}")
    # A command word alone (``carehub``, ``carehub sim``) shows the help of what may follow it.
    parser.set_defaults(_run=_show_help(parser))
    groups: dict[tuple[str, ...], argparse._SubParsersAction[argparse.ArgumentParser]] = {
        (): parser.add_subparsers(dest="command", metavar="COMMAND")
    }
    for words, module_name, help_text in COMMANDS:
        for depth in range(1, len(words)):
            prefix = words[:depth]
            if prefix not in groups:
                sub = groups[prefix[:-1]].add_parser(prefix[-1], help=f"{prefix[-1]} commands")
                sub.set_defaults(_run=_show_help(sub))
                groups[prefix] = sub.add_subparsers(dest="_".join(prefix) + "_command", metavar="COMMAND")
        module = importlib.import_module(module_name)
        p = groups[words[:-1]].add_parser(words[-1], help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
        return code
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the line the ^C was echoed on
        return 130
    except BrokenPipeError:
        # ``carehub replay home DIR | head``: the reader has what it wanted. Point stdout at
        # /dev/null so that the interpreter's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command ended by SIGPIPE
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        print(f"carehub: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
