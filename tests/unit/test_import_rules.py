"""The rooms of the house and who may enter them (docs/architecture.md), checked by machine.

Every module's imports are read from its syntax tree (nothing is imported), in the
spirit of Home Assistant's hassfest: a forbidden arrow between rooms fails here
rather than in a review.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tests.conftest import REPO

ROOMS = ("detection", "drivers", "gateway", "simulators")
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    top_level = {id(n) for n in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top_level))
    return found


def violations() -> list[str]:
    out: list[str] = []
    for room in ROOMS:
        for path in sorted((REPO / room).rglob("*.py")):
            rel = path.relative_to(REPO)
            for module, module_level in imports(path):
                top = module.split(".")[0]
                why = _forbidden(rel, module, top, module_level)
                if why:
                    out.append(f"{rel}: imports {module}: {why}")
    return out


def _forbidden(rel: Path, module: str, top: str, module_level: bool) -> str | None:
    room = rel.parts[0]
    if room == "detection":
        # Pure detectors: the vocabulary and numerical libraries, no I/O, no hub.
        if top not in STDLIB and top not in ("numpy", "scipy", "detection"):
            return "detection/ may import numpy, scipy and the standard library only"
    elif room == "drivers":
        if top in ("gateway", "simulators"):
            return "a driver knows nothing of the hub or the simulators"
        if top == "detection" and module != "detection.events" and not module.startswith("detection.events."):
            return "drivers/ may use detection.events (the vocabulary) only"
        shared = module.count(".") == 1 and (REPO / "drivers" / (module.split(".")[1] + ".py")).exists()
        if top == "drivers" and len(rel.parts) > 2 and module.split(".")[1:2] != [rel.parts[1]] and not shared:
            return "a driver family does not import another family (shared transports are drivers/*.py)"
    elif room == "gateway":
        if top == "simulators":
            if rel.parts[:2] != ("gateway", "commands") or module_level:
                return "only CLI commands that start a simulator import it, inside the command"
    elif room == "simulators" and top == "gateway":
        return "simulators speak the wire formats; they do not import the hub"
    return None


def test_no_forbidden_arrow_between_rooms() -> None:
    assert violations() == []


def test_the_checker_sees_a_forbidden_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("import numpy\nfrom gateway.store import Store\n\ndef f():\n    import simulators.demo\n")
    assert imports(bad) == [("numpy", True), ("gateway.store", True), ("simulators.demo", False)]
    assert _forbidden(Path("detection/x.py"), "gateway.store", "gateway", True)
    assert _forbidden(Path("drivers/ble/x.py"), "drivers.rflink.codec", "drivers", True)
    assert _forbidden(Path("gateway/commands/demo.py"), "simulators.demo", "simulators", False) is None
    assert _forbidden(Path("gateway/daemon.py"), "simulators.demo", "simulators", False)
