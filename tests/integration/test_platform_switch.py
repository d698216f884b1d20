"""New broker settings are tried before the working ones are dropped, and undone when they fail (issue 11 item 2).

In process, so that the test can look at the hub's state, but against real mosquitto brokers.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateway.config import ConfigError, load, merge, save_atomic, validate
from gateway.daemon import Hub
from simulators.broker import Mosquitto, free_port
from tests.conftest import hub_config

pytestmark = pytest.mark.integration


async def _until(check, within_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_broker_settings_that_do_not_connect_are_undone_and_good_ones_replace_the_old(tmp_path: Path,
                                                                                   mosquitto: Mosquitto) -> None:
    path = tmp_path / "carehub.toml"
    cfg = validate(hub_config(tmp_path, mosquitto.port, None))
    save_atomic(cfg, path)

    async def main() -> None:
        hub = Hub(cfg, path)
        running = asyncio.create_task(hub.run())
        await _until(lambda: hub.uplink.connected)
        old_uplink = hub.uplink

        # Refused before saving: wildcards in topics, unreadable TLS files.
        with pytest.raises(ConfigError):
            merge(hub.config, {"platform": {"base_topic": "carehub/#"}})
        with pytest.raises(ConfigError) as refused:
            await hub.apply_config(merge(hub.config, {"platform": {"tls": True, "ca_file": "/nonexistent/ca.pem"}}),
                                   "technician@test")
        assert refused.value.errors[0].path == "platform.ca_file"
        assert load(path).platform == cfg.platform

        # Nothing listens there: the hub keeps the working connection and puts the file back.
        await hub.apply_config(merge(hub.config, {"platform": {"port": free_port(), "switch_timeout_s": 5}}),
                               "technician@test")
        assert hub.uplink is old_uplink and hub.uplink.connected, "dropped before the new settings worked"
        await _until(lambda: hub.switch.last is not None, within_s=10)
        assert hub.switch.last is not None and hub.switch.last["result"] == "reverted"
        assert hub.uplink is old_uplink and hub.uplink.connected
        assert load(path).platform.port == mosquitto.port, "the failed settings stayed in the file"
        reverted = [a for a in hub.policy.open_alerts() if a.type == "platform_settings_reverted"]
        assert reverted and reverted[0].severity == "technical"
        audit = [json.loads(line) for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
        assert audit[-1]["who"] == "hub" and audit[-1]["action"] == "platform.reverted"

        # Settings that connect replace the old connection, and the technical alert is cleared.
        with Mosquitto() as second:
            await hub.apply_config(merge(hub.config, {"platform": {"port": second.port}}), "technician@test")
            await _until(lambda: hub.switch.last is not None and hub.switch.last["result"] == "switched")
            assert hub.uplink is not old_uplink and hub.uplink.cfg.port == second.port
            await _until(lambda: hub.uplink.connected and not hub.uplink.standby)
            assert not [a for a in hub.policy.open_alerts() if a.type == "platform_settings_reverted"]
            assert load(path).platform.port == second.port
            hub._stop.set()
            assert await running == 0

    asyncio.run(main())
