"""The one schema: every error names the key path, the bad value and what is allowed."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load, merge, save_atomic, secret_paths, to_data, validate
from tests.conftest import REPO


def errors_of(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        validate(data)
    return {e.path: str(e) for e in exc.value.errors}


def test_defaults_are_valid_and_example_loads():
    assert validate({}).platform.port == 1883
    cfg = load(REPO / "config" / "carehub.example.toml")
    assert cfg.devices[0].kind == "sos"


def test_errors_name_path_value_and_allowed():
    errs = errors_of({
        "platform": {"port": 0, "protocol": "4", "tls": "yes"},
        "alerts": {"ack_timeout_s": "soon"},
        "devices": [{"id": "a b", "protocol": "EV1527", "address": "xyz", "kind": "toaster"}],
        "nonsense": 1,
    })
    assert errs["platform.port"] == "platform.port = 0 is not allowed: a whole number from 1 to 65535"
    assert "one of '3.1.1', '5'" in errs["platform.protocol"]
    assert "true or false" in errs["platform.tls"]
    assert "alerts.ack_timeout_s = 'soon'" in errs["alerts.ack_timeout_s"]
    assert "devices[0].id = 'a b'" in errs["devices[0].id"]
    assert "devices[0].address = 'xyz'" in errs["devices[0].address"]
    assert "'pir'" in errs["devices[0].kind"]
    assert "a known key" in errs["nonsense"]


def test_cross_field_rules():
    dev = {"protocol": "EV1527", "address": "0a", "kind": "pir"}
    errs = errors_of({"devices": [{"id": "x", **dev}, {"id": "x", **dev, "address": "0b"}]})
    assert "devices[1].id" in errs
    errs = errors_of({"devices": [{"id": "x", **dev}, {"id": "y", **dev, "address": "000a"}]})
    assert "devices[1]" in errs  # the same radio code twice
    errs = errors_of({"platform": {"cert_file": "/c.pem"}})
    assert "platform.key_file" in errs


def test_hostile_strings_are_refused():
    errs = errors_of({"site": {"id": "x" * 5000}})
    assert "site.id" in errs
    errs = errors_of({"site": {"name": "a\x00b"}})
    assert "site.name" in errs


def test_merge_and_atomic_save_keep_previous_copy(tmp_path):
    path = tmp_path / "carehub.toml"
    cfg = validate({})
    save_atomic(cfg, path)
    new = merge(cfg, {"alerts": {"ack_timeout_s": 90}})
    save_atomic(new, path)
    assert load(path).alerts.ack_timeout_s == 90
    assert load(path.with_name("carehub.toml.bak")).alerts.ack_timeout_s == 60
    with pytest.raises(ConfigError):
        merge(cfg, {"alerts": {"ack_timeout_s": 0}})
    assert not list(tmp_path.glob(".*tmp*"))


def test_secrets_are_known():
    assert "platform.password" in secret_paths()
    assert to_data(validate({}))["platform"]["password"] == ""


def test_the_page_listens_only_on_lan_addresses():
    assert validate({}).web.bind == "lan"
    for ok in ("lan", "127.0.0.1", "192.168.1.20", "10.0.0.2", "::1", "fd00::5", "fe80::1%eth0"):
        assert validate({"web": {"bind": ok}}).web.bind == ok
    for bad in ("0.0.0.0", "8.8.8.8", "2001:4860::1", "example.com", "::"):
        errs = errors_of({"web": {"bind": bad}})
        assert "private" in errs["web.bind"], bad


def test_a_wearable_address_is_used_once():
    w = {"profile": "carehub", "placement": "neck"}
    errs = errors_of({"wearables": [{**w, "id": "a", "address": "AA:BB:CC:DD:EE:01"},
                                    {**w, "id": "b", "address": "aa:bb:cc:dd:ee:01"}]})
    assert "already used by wearables[0]" in errs["wearables[1].address"]
