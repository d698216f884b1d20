"""Config of radars, Zigbee2MQTT and rtl_433: validation, and what the platform may not change."""

from __future__ import annotations

import pytest

from gateway import platform_changes
from gateway.components import rtl433_specs, zigbee_broker, zigbee_specs
from gateway.config import ConfigError, merge, validate

RADAR = {"id": "radar-bath", "model": "mr60fda2", "port": "/dev/serial/by-id/usb-x", "room": "bathroom"}
ZIGBEE = {"id": "zb-sos", "friendly_name": "sos button", "kind": "sos", "room": "bedroom"}
RTL = {"id": "door-433", "model": "Honeywell-Security", "address": "123456", "kind": "door"}


def errors_of(data: dict) -> list[str]:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as exc:
        validate(data)
    return [e.path for e in exc.value.errors]


def test_the_three_families_validate_and_build_their_specs():
    cfg = validate({"radars": [RADAR], "zigbee2mqtt": {"enabled": True, "port": 1884},
                    "zigbee_devices": [ZIGBEE], "rtl433": {"enabled": True}, "rtl433_devices": [RTL]})
    assert cfg.radars[0].cancel_window_s is None and cfg.radars[0].offline_after_s == 300
    (z,) = zigbee_specs(cfg)
    assert z.help_actions == ("emergency", "sos", "panic") and z.kind == "sos"
    assert zigbee_broker(cfg).client_id == "carehub-demo-site-zigbee2mqtt"
    (r,) = rtl433_specs(cfg)
    assert (r.model, r.address, r.channel) == ("Honeywell-Security", "123456", "")


def test_ids_are_unique_across_families_and_friendly_names_within_zigbee():
    paths = errors_of({"radars": [RADAR], "zigbee_devices": [{**ZIGBEE, "id": "radar-bath"},
                                                             {**ZIGBEE, "id": "zb-2"}],
                       "rtl433_devices": [{**RTL, "id": "zb-2"}]})
    assert "zigbee_devices[0].id" in paths and "zigbee_devices[1].friendly_name" in paths
    assert "rtl433_devices[0].id" in paths


@pytest.mark.parametrize("bad", [
    {"radars": [{**RADAR, "model": "ld9999"}]},
    {"radars": [{**RADAR, "cancel_window_s": 1000}]},
    {"zigbee_devices": [{**ZIGBEE, "friendly_name": "wild/#"}]},
    {"zigbee_devices": [{**ZIGBEE, "kind": "toaster"}]},
    {"zigbee2mqtt": {"base_topic": "zigbee2mqtt/#"}},
    {"rtl433": {"source": "sdr"}},
    {"rtl433": {"enabled": True, "command": []}},
])
def test_bad_values_are_refused(bad: dict) -> None:  # type: ignore[type-arg]
    assert errors_of(bad)


BASE = validate({})


@pytest.mark.parametrize("changes", [
    {"rtl433": {"enabled": True, "command": ["sh", "-c", "anything"]}},  # a command line the hub would run
    {"radars": [RADAR]},
    {"zigbee2mqtt": {"enabled": True, "host": "10.9.9.9"}},
    {"zigbee_devices": [ZIGBEE]},
    {"rtl433_devices": [RTL]},
])
def test_the_platform_cannot_set_the_new_sections_even_in_maintenance(changes: dict) -> None:  # type: ignore[type-arg]
    errors, _ = platform_changes.check(BASE, merge(BASE, changes), platform_changes.Maintenance("x", "ops"))
    assert errors


def test_the_page_lists_radars_zigbee_and_rtl433_devices():
    from gateway.daemon import _device_states

    cfg = validate({"radars": [RADAR], "zigbee_devices": [ZIGBEE], "rtl433_devices": [RTL]})
    kinds = {d.id: d.kind for d in _device_states(cfg)}
    assert kinds == {"radar-bath": "radar:mr60fda2", "zb-sos": "zigbee:sos", "door-433": "rtl433:door"}
