"""``carehub sim modem``'s stdin language: what a person types becomes the emulator's network."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.commands.sim_modem import apply


class _Emu:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any) -> list[int]:
            self.calls.append((name, args))
            return [0]
        return record


@pytest.mark.parametrize(("line", "call"), [
    ("from +8613800000000: OK 1a2b", ("deliver", ("+8613800000000", "OK 1a2b"))),
    ("FROM 10086:收到 1a2b", ("deliver", ("10086", "收到 1a2b"))),
    ("lose", ("lose_registration", ())), ("roam", ("set_registration", (5,))),
    ("regain", ("regain_registration", ())), ("nosim", ("remove_sim", ())), ("sim", ("insert_sim", ())),
    ("refuse", ("refuse", (1, 500))), ("refuse 2 331", ("refuse", (2, 331))),
    ("hang", ("hang", (None,))), ("hang AT+CMGS", ("hang", ("AT+CMGS",))), ("unhang", ("unhang", ())),
    ("garbage 5", ("garbage", (5,))), ("restart", ("restart", ())),
])
def test_typed_lines_drive_the_emulator(line, call):
    emu = _Emu()
    assert apply(emu, line)
    assert emu.calls == [call]


def test_nonsense_is_answered_not_applied():
    emu = _Emu()
    assert "not understood" in apply(emu, "dance")
    assert apply(emu, "   ") == "" and emu.calls == []
    assert "from +86" in apply(emu, "help")
    with pytest.raises(ValueError):
        apply(emu, "refuse many")
