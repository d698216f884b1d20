"""Remote commands from the care platform: ``request/<cmd>`` answered on ``response/<cmd>``.

The platform reads state and asks for test alarms freely; it changes settings only
as ``gateway.platform_changes`` allows, and every accepted change is written to
the audit log with the platform as the actor (docs/mqtt.md, "Trust").
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Protocol

import structlog

from gateway import platform_changes
from gateway.config import Config, ConfigError, FieldError, merge, secret_paths, to_data
from gateway.web.audit import AuditLog, changes

log = structlog.get_logger("carehub.remote")

PLATFORM_ACTOR = "platform"
MAINTENANCE_KEY = "maintenance"  # kv: the last maintenance change, shown on the page


class RemoteHub(Protocol):
    config: Config

    def status(self) -> dict[str, Any]: ...
    def uptime_s(self) -> float: ...
    async def send_test_alarm(self, actor: str) -> str: ...
    async def apply_config(self, new: Config, actor: str) -> list[str]: ...
    def set_maintenance(self, entry: dict[str, Any] | None) -> None: ...


class PlatformCommands:
    def __init__(self, hub: RemoteHub, state_dir: Path) -> None:
        self.hub = hub
        self.audit = AuditLog(state_dir)

    async def _record(self, who: str, action: str, changed: list[dict[str, Any]]) -> None:
        await asyncio.to_thread(self.audit.record, who, action, changed)  # fsync off the loop

    async def handle(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command == "ping":
            return {"pong": True, "uptime_s": round(self.hub.uptime_s(), 1)}
        if command == "status":
            return self.hub.status()
        if command == "test_alarm":
            return {"alert_id": await self.hub.send_test_alarm(PLATFORM_ACTOR)}
        if command == "get_config":
            return {"config": redact(to_data(self.hub.config), secret_paths())}
        if command == "set_config":
            return await self._set_config(body)
        if command == "end_maintenance":
            self.hub.set_maintenance(None)
            await self._record(PLATFORM_ACTOR, "maintenance.end", [])
            return {"maintenance": None}
        raise ValueError(f"unknown command {command[:64]!r}")

    async def _set_config(self, body: dict[str, Any]) -> dict[str, Any]:
        requested = body.get("changes")
        if not isinstance(requested, dict):
            raise ValueError("set_config needs a 'changes' object")
        maintenance = platform_changes.parse_maintenance(body)
        old = self.hub.config
        try:
            new = merge(old, requested)
        except ConfigError as exc:
            return _refused(exc.errors)
        errors, maintenance_paths = platform_changes.check(old, new, maintenance)
        if errors:
            log.warning("platform.set_config_refused", paths=[e.path for e in errors][:20])
            return _refused(errors)
        restart = await self.hub.apply_config(new, PLATFORM_ACTOR)
        changed = changes(to_data(old), to_data(new), secret_paths())
        action = "set_config"
        if maintenance is not None and maintenance_paths:
            action = f"set_config (maintenance: {maintenance.reason})"
            self.hub.set_maintenance({"wall": time.time(), "by": maintenance.by, "reason": maintenance.reason,
                                      "paths": maintenance_paths})
        await self._record(PLATFORM_ACTOR if maintenance is None else f"{PLATFORM_ACTOR} ({maintenance.by})",
                           action, changed)
        return {"applied": True, "restart_required": restart, "maintenance": maintenance_paths}


def _refused(errors: list[FieldError]) -> dict[str, Any]:
    return {"applied": False, "errors": [
        {"path": e.path, "value": repr(e.value)[:200], "allowed": e.allowed} for e in errors]}


def redact(data: Any, secrets: set[str], prefix: str = "") -> Any:
    if isinstance(data, dict):
        return {k: ("***" if f"{prefix}{k}" in secrets and v else redact(v, secrets, f"{prefix}{k}."))
                for k, v in data.items()}
    return data
