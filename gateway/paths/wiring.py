"""The second path built from the live hub: its modem and its view of the hub (``PathContext``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drivers.modem.types import ModemStatus
from gateway.config import Config
from gateway.paths.context import PathContext, SmsModem
from gateway.paths.second_path import SecondPath

if TYPE_CHECKING:
    from gateway.daemon import Hub


def second_path_for(hub: Hub, cfg: Config) -> SecondPath:
    from drivers.modem import Modem

    sp = cfg.second_path

    def make_modem(on_sms: Callable[[Any], None], on_status: Callable[[ModemStatus], None]) -> SmsModem:
        return Modem(sp.port, baudrate=sp.baudrate, on_sms=on_sms, on_status=on_status,
                     status_interval_s=sp.status_interval_s, send_timeout_s=sp.send_timeout_s)

    async def audit(who: str, action: str, changed: list[dict[str, Any]]) -> None:
        await asyncio.to_thread(hub.commands.audit.record, who, action, changed)  # fsync off the loop

    ctx = PathContext(
        store=hub.store, policy=hub.policy, clock=hub.clock,
        site_id=lambda: hub.config.site.id,
        site_name=lambda: hub.config.site.name or hub.config.site.id,
        topics=lambda: hub.policy.topics,
        uplink_connected=lambda: bool(hub.uplink.connected and not hub.uplink.standby),
        wake_uplink=lambda: hub.uplink.wake(),
        on_finding=hub.on_finding,
        audit=audit,
    )
    return SecondPath(sp, ctx, make_modem)
