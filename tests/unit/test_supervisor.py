"""The supervisor: failures isolated and restarted, a config change restarts exactly what it changed."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from gateway import supervisor as sup_mod
from gateway.config import Config
from gateway.supervisor import ComponentSpec, Supervisor


class Part:
    def __init__(self, name: str, log: list[str], crash_times: int = 0) -> None:
        self.name, self.log, self.crash_times = name, log, crash_times
        self.updated: list[Config] = []

    async def run(self) -> None:
        self.log.append(f"start {self.name}")
        try:
            if self.crash_times > 0:
                self.crash_times -= 1
                raise RuntimeError("radio on fire")
            await asyncio.Event().wait()
        finally:
            self.log.append(f"stop {self.name}")

    def status(self) -> dict[str, Any]:
        return {"name": self.name}


def test_a_change_restarts_exactly_the_components_whose_settings_changed(monkeypatch):
    monkeypatch.setattr(sup_mod, "RESTART_FIRST_S", 0.01)
    log: list[str] = []
    built: dict[str, Part] = {}

    def build(name: str, crash: int = 0):  # type: ignore[no-untyped-def]
        def make(cfg: Config) -> Part:
            built[name] = Part(name, log, crash)
            return built[name]
        return make

    async def main() -> None:
        s = Supervisor()
        s.add(ComponentSpec("rflink", owns=lambda c: c.rflink, build=build("rflink"),
                            update=lambda p, c: p.updated.append(c)))  # type: ignore[attr-defined]
        s.add(ComponentSpec("ble", owns=lambda c: c.ble, build=build("ble", crash=2)))
        s.add(ComponentSpec("web", owns=lambda c: c.web, build=build("web"), live=False))
        s.add(ComponentSpec("off", owns=lambda c: c.rflink.enabled, build=lambda c: None))
        old = Config()
        s.start(old)
        # Two crashes, then the third start stays up: wait for it (bounded) rather than guess a time.
        for _ in range(500):
            if log.count("start ble") == 3:
                break
            await asyncio.sleep(0.01)
        # The crashing one is restarted with backoff and reported; the others never noticed.
        assert s.report()["ble"]["restarts"] == 2 and "radio on fire" in s.report()["ble"]["last_error"]
        assert s.running("ble") and s.running("rflink") and not s.running("off")
        assert log.count("start rflink") == 1
        new = replace(old, rflink=replace(old.rflink, baudrate=9600), web=replace(old.web, port=9090))
        first_rflink = built["rflink"]
        assert await s.apply(old, new) == ["web"]  # the page cannot restart itself
        assert built["rflink"] is not first_rflink and log.count("stop rflink") == 1
        assert log.count("start ble") == 3 and log.count("start web") == 1
        # A change outside its slice that it follows is applied in place.
        newer = replace(new, devices=[])
        await s.apply(new, newer)
        assert built["rflink"].updated == [newer]
        await s.stop_all()
        assert not s.running("rflink")

    asyncio.run(main())
