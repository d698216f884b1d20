"""New broker settings on trial: connected before the working connection is dropped, undone if they fail.

A typo on the page (a wrong port, a broker that only speaks TLS) must not cut a home off
from its care platform. The new client connects as a standby beside the old one; only
once the broker has accepted it does it replace the old one (messages in flight stay in
the outbox and are sent again by the new connection; the platform de-duplicates by
alert id). If it has not connected within ``platform.switch_timeout_s``, the hub keeps
the old connection, writes the old settings back to the file, audits it and raises a
technical alert ``platform_settings_reverted`` (docs/mqtt.md, "Trust").
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import structlog

from detection.events import Finding, FindingState, Severity
from gateway.config import Config, secret_paths, to_data, validate
from gateway.uplink import Uplink
from gateway.web.audit import changes

if TYPE_CHECKING:
    from gateway.daemon import Hub

log = structlog.get_logger("carehub.daemon")

FINDING_KEY = "platform_switch"


class PlatformSwitch:
    def __init__(self, hub: Hub, cfg: Config) -> None:
        self._hub = hub
        self._in_use = cfg  # the config whose platform and site settings the running uplink uses
        self._task: asyncio.Task[None] | None = None
        self.last: dict[str, Any] | None = None  # the last switch's outcome, for the page and status

    def schedule(self) -> None:
        """Switch to the hub's current settings, after any switch still under way."""
        previous = self._task

        async def switch() -> None:
            if previous is not None:  # one after another, ending on the newest settings
                await asyncio.gather(previous, return_exceptions=True)
            await self._switch(self._hub.config)

        self._task = asyncio.create_task(switch(), name="uplink-switch")

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _switch(self, new: Config) -> None:
        hub = self._hub
        if (new.platform, new.site.id) == (self._in_use.platform, self._in_use.site.id):
            self._in_use = new
            return  # already in use (a revert, or a change that was undone)
        if not hub.supervisor.running("uplink"):  # a test's hub that was never started is only rebuilt
            self._use(hub.make_uplink(new), new)
            return
        candidate = hub.make_uplink(new, standby=True)
        hub.supervisor.spawn("uplink-trial", candidate.run)
        timeout = new.platform.switch_timeout_s
        if candidate.problem is None and await candidate.wait_connected(timeout):
            await hub.uplink.stop()
            await hub.supervisor.stop_task("uplink")
            hub.supervisor.rename("uplink-trial", "uplink")
            self._use(candidate, new)
            candidate.activate()
            log.info("uplink.switched", broker=candidate.broker)
            hub.on_finding(self._finding(FindingState.CLEARED, {"reason": "new settings connected"}))
            self.last = {"wall": time.time(), "result": "switched", "broker": candidate.broker}
            return
        await hub.supervisor.stop_task("uplink-trial")
        await candidate.stop()
        reason = candidate.problem or f"no connection within {timeout:g} s"
        log.error("uplink.switch_reverted", tried=candidate.broker, kept=hub.uplink.broker, reason=reason)
        data = to_data(hub.config)
        data["platform"], data["site"] = to_data(self._in_use.platform), to_data(self._in_use.site)
        reverted = validate(data)
        await hub.apply_config(reverted, "hub (switch reverted)")
        await asyncio.to_thread(hub.commands.audit.record, "hub", "platform.reverted",
                                changes(to_data(new), to_data(reverted), secret_paths()))
        hub.on_finding(self._finding(FindingState.RAISED, {"tried": candidate.broker, "kept": hub.uplink.broker,
                                                           "reason": reason}))
        self.last = {"wall": time.time(), "result": "reverted", "broker": candidate.broker,
                     "kept": hub.uplink.broker, "reason": reason}

    def _use(self, uplink: Uplink, cfg: Config) -> None:
        hub = self._hub
        hub.uplink = uplink
        self._in_use = cfg
        hub.topics = uplink.topics
        hub.policy.topics = hub.topics
        hub.policy.site = cfg.site.id  # alerts from now on name the new site

    def _finding(self, state: FindingState, evidence: dict[str, Any]) -> Finding:
        return Finding(type="platform_settings_reverted", severity=Severity.TECHNICAL, at=self._hub.clock.now(),
                       key=FINDING_KEY, state=state, evidence=evidence)
