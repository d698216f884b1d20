"""Components with a lifecycle, and the supervisor that runs them.

A component (a radio driver, the technician's page, a later radio or alarm path)
is built from the config slice it owns, runs as one task until cancelled, and
reports its own state. The supervisor starts every component, isolates a failure
(a crashed driver is logged, counted and restarted with backoff; the rest of the
hub keeps watching), and on a config change restarts exactly the components whose
slice changed, updating the others in place where they ask for it. Plain loops of
the hub (the policy's tick, the journal) run under the same guard without a slice.
This is the shape of Zigbee2MQTT's controller and extensions, in asyncio.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from gateway.config import Config

log = structlog.get_logger("carehub.supervisor")

RESTART_FIRST_S = 1.0
RESTART_MAX_S = 60.0


class Component(Protocol):
    async def run(self) -> None:
        """Run until cancelled; clean up in ``finally``."""

    def status(self) -> dict[str, Any]:
        """What the page and ``health`` show of it."""


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    owns: Callable[[Config], object]  # the config slice: a change of it rebuilds the component
    build: Callable[[Config], Component | None]  # None: switched off by this config
    live: bool = True  # False: a change of its slice takes a process restart (the page serving itself)
    update: Callable[[Component, Config], None] | None = None  # changes outside its slice it still follows


class Supervisor:
    def __init__(self) -> None:
        self._specs: dict[str, ComponentSpec] = {}
        self._components: dict[str, Component] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.restarts: Counter[str] = Counter()
        self.last_error: dict[str, str] = {}

    # --- components ---------------------------------------------------------------------

    def add(self, spec: ComponentSpec) -> None:
        self._specs[spec.name] = spec

    def get(self, name: str) -> Component | None:
        return self._components.get(name)

    def start(self, cfg: Config) -> None:
        for spec in self._specs.values():
            self._start(spec, cfg)

    async def apply(self, old: Config, new: Config) -> list[str]:
        """Restart the components whose slice changed; the names of those that need a process restart."""
        needs_process_restart = []
        for spec in self._specs.values():
            if spec.owns(old) != spec.owns(new):
                if not spec.live:
                    needs_process_restart.append(spec.name)
                    continue
                await self.stop_task(spec.name)
                self._components.pop(spec.name, None)
                self._start(spec, new)
                log.info("component.restarted", component=spec.name, reason="settings changed")
            elif spec.update is not None and spec.name in self._components:
                spec.update(self._components[spec.name], new)
        return needs_process_restart

    def _start(self, spec: ComponentSpec, cfg: Config) -> None:
        component = spec.build(cfg)
        if component is None:
            return
        self._components[spec.name] = component
        self.spawn(spec.name, component.run)

    # --- tasks --------------------------------------------------------------------------

    def spawn(self, name: str, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._tasks[name] = asyncio.create_task(self._guard(name, fn), name=name)

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    def rename(self, old: str, new: str) -> None:
        """A task that took over another's job (new broker settings on trial, now in use)."""
        self._tasks[new] = self._tasks.pop(old)

    async def stop_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def stop_all(self, *, last: tuple[str, ...] = ()) -> dict[str, asyncio.Task[None]]:
        """Cancel every task but those in ``last``, which are handed back for the caller to end."""
        kept = {name: self._tasks.pop(name) for name in last if name in self._tasks}
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        return kept

    def report(self) -> dict[str, dict[str, Any]]:
        names = set(self._tasks) | set(self.restarts)
        return {name: {"running": self.running(name), "restarts": self.restarts[name],
                       "last_error": self.last_error.get(name)} for name in sorted(names)}

    async def _guard(self, name: str, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Components and loops must not die; if one does anyway, log it and start it again."""
        delay = RESTART_FIRST_S
        while True:
            started = time.monotonic()
            try:
                await fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.restarts[name] += 1
                self.last_error[name] = f"{type(exc).__name__}: {exc}"[:300]
                if time.monotonic() - started > RESTART_MAX_S:
                    delay = RESTART_FIRST_S  # it ran well for a while: not a crash loop
                log.exception("task.crashed", task=name, restart_in_s=delay, restarts=self.restarts[name])
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESTART_MAX_S)
