"""Saving from the page or the platform keeps the installer's file: comments, layout, untouched entries."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib

import pytest

from gateway.config import ConfigError, load, merge, save_atomic, validate
from tests.conftest import REPO

EXAMPLE = (REPO / "config" / "carehub.example.toml").read_text()


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.fixture
def installed(tmp_path):
    path = tmp_path / "carehub.toml"
    path.write_text(EXAMPLE)
    return path


def test_one_setting_changes_one_line_and_keeps_its_comment(installed):
    cfg = load(installed)
    save_atomic(merge(cfg, {"alerts": {"ack_timeout_s": 90}}), installed)
    after = installed.read_text()
    assert changed_lines(EXAMPLE, after) == [
        "-ack_timeout_s = 60.0        # no platform acknowledgement by then: re-send one level up",
        "+ack_timeout_s = 90.0        # no platform acknowledgement by then: re-send one level up",
    ]
    assert (installed.with_name("carehub.toml.bak")).read_text() == EXAMPLE
    assert load(installed).alerts.ack_timeout_s == 90


def test_a_save_that_changes_nothing_leaves_the_file_as_it_was(installed):
    cfg = load(installed)
    save_atomic(merge(cfg, {"web": {"session_idle_min": 60.0}}), installed)  # the file says 60
    assert installed.read_text() == EXAMPLE


def test_a_key_the_file_leaves_out_is_written_only_when_it_changes(installed):
    cfg = load(installed)
    save_atomic(merge(cfg, {"detection": {"home": {"inactivity_floor_min": 60}}}), installed)
    after = installed.read_text()
    assert "[detection.home]\ninactivity_floor_min = 60.0" in after
    assert "dwell_floor_min" not in after  # unchanged defaults stay implicit
    assert EXAMPLE.rstrip("\n") in after  # everything else exactly as it was


def test_devices_added_removed_and_changed_in_place(installed):
    cfg = load(installed)
    devices = [dataclasses.asdict(d) for d in cfg.devices]
    removed = devices.pop(0)["id"]
    devices[0]["room"] = "kitchen"  # pir-living moved
    devices.append({"id": "door-back", "protocol": "EV1527", "address": "0d0009", "kind": "door",
                    "room": "entrance"})
    new = merge(cfg, {"devices": devices})
    save_atomic(new, installed)
    after = installed.read_text()
    assert load(installed) == new
    assert removed not in after
    # The added entry says only what differs from the defaults, as an installer would write it.
    assert '[[devices]]\nid = "door-back"\nprotocol = "EV1527"\naddress = "0d0009"\nkind = "door"\n' \
           'room = "entrance"\n\n[ble]' in after
    assert "# One [[devices]] table per 433 MHz sensor." in after
    untouched = EXAMPLE[EXAMPLE.index('[[devices]]\nid = "pir-bathroom"'):EXAMPLE.index("[ble]")]
    assert untouched in after  # the entries nobody changed, byte for byte
    diff = changed_lines(EXAMPLE, after)
    assert '-room = "living"' in diff and '+room = "kitchen"' in diff
    assert not [line for line in diff if line.startswith("-") and "#" in line and "sos" not in line]


def test_entries_reordered_keep_their_own_comments(tmp_path):
    path = tmp_path / "carehub.toml"
    text = ('[[wearables]]\n# hers\nid = "a"\naddress = "AA:BB:CC:DD:EE:01"\n\n'
            '[[wearables]]\nid = "b"  # his\naddress = "AA:BB:CC:DD:EE:02"\n')
    path.write_text(text)
    cfg = load(path)
    new = dataclasses.replace(cfg, wearables=list(reversed(cfg.wearables)))
    save_atomic(new, path)
    after = path.read_text()
    assert load(path) == new
    assert after.index('id = "b"  # his') < after.index("# hers\nid = \"a\"")


def test_an_optional_key_unset_is_removed_and_spelling_of_numbers_kept(tmp_path):
    path = tmp_path / "carehub.toml"
    path.write_text('[[wearables]]\nid = "p"\naddress = "AA:BB:CC:DD:EE:01"\ncancel_window_s = 45\n'
                    'offline_after_s = 600  # ten minutes\n')
    cfg = load(path)
    wearable = dataclasses.replace(cfg.wearables[0], cancel_window_s=None)
    save_atomic(dataclasses.replace(cfg, wearables=[wearable]), path)
    assert path.read_text() == ('[[wearables]]\nid = "p"\naddress = "AA:BB:CC:DD:EE:01"\n'
                                'offline_after_s = 600  # ten minutes\n')


def test_all_devices_removed_and_sections_from_nothing(tmp_path):
    path = tmp_path / "carehub.toml"
    save_atomic(validate({"devices": [{"id": "x", "protocol": "EV1527", "address": "0a", "kind": "pir"}]}), path)
    cfg = load(path)
    save_atomic(dataclasses.replace(cfg, devices=[]), path)
    assert load(path).devices == []
    assert "[[devices]]" not in path.read_text()


def test_a_file_that_was_not_valid_is_still_saved_exactly(tmp_path):
    path = tmp_path / "carehub.toml"
    for broken in ('# kept\n[site]\nid = "x"\nnonsense = 1\n', "[site\nid=", b"\xff\xfe".decode("latin-1")):
        path.write_text(broken)
        cfg = validate({"site": {"id": "saved"}, "alerts": {"ack_timeout_s": 75.0}})
        save_atomic(cfg, path)
        assert load(path) == cfg, broken
        assert "nonsense" not in path.read_text()


def test_every_kind_of_change_round_trips(installed):
    """Whatever the page or the platform changes, the file then says exactly what the hub runs on."""
    cfg = load(installed)
    changes = [
        {"site": {"name": "Mrs Li's flat"}},
        {"platform": {"host": "127.0.0.1", "tls": False, "port": 1883, "ca_file": ""}},
        {"detection": {"home": {"quiet_hours": "13-15", "dwell_rooms": ["bathroom", "kitchen"]}}},
        {"wearables": [{"id": "pendant", "address": "C0:FF:EE:00:00:01", "cancel_window_s": 20.0}]},
        {"ble": {"enabled": True}, "logging": {"level": "debug"}},
        {"wearables": []},
    ]
    for change in changes:
        cfg = merge(cfg, change)
        save_atomic(cfg, installed)
        assert load(installed) == cfg, change
        assert "# carehub configuration." in installed.read_text()
    assert tomllib.loads(installed.read_text())["site"]["name"] == "Mrs Li's flat"


def errors_of(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        validate(data)
    return {e.path: str(e) for e in exc.value.errors}


@pytest.mark.parametrize(("section", "low", "high", "values"), [
    ("detection.home", "inactivity_floor_min", "inactivity_ceiling_min", (300, 240)),
    ("detection.home", "inactivity_floor_min", "sleep_ceiling_min", (200, 100)),
    ("detection.home", "dwell_floor_min", "dwell_ceiling_min", (70, 60)),
    ("platform", "reconnect_min_s", "reconnect_max_s", (30, 10)),
    ("rflink", "reopen_min_s", "reopen_max_s", (5, 1)),
])
def test_a_floor_above_its_ceiling_is_refused_on_both_fields(section, low, high, values):
    node: dict = {}
    cursor = node
    for part in section.split("."):
        cursor = cursor.setdefault(part, {})
    cursor.update({low: values[0], high: values[1]})
    errs = errors_of(node)
    assert f"at most {section}.{high}" in errs[f"{section}.{low}"]
    assert f"at least {section}.{low}" in errs[f"{section}.{high}"]
    cursor[high] = values[0]  # equal is a fixed limit: allowed
    validate(node)


def test_night_start_equal_to_night_end_and_empty_hour_ranges_are_refused():
    errs = errors_of({"detection": {"home": {"night_start_hour": 7, "night_end_hour": 7}}})
    assert "different from detection.home.night_end_hour" in errs["detection.home.night_start_hour"]
    assert "different from detection.home.night_start_hour" in errs["detection.home.night_end_hour"]
    errs = errors_of({"detection": {"home": {"quiet_hours": "13-13"}, "vitals": {"waking_hours": "8-8"}}})
    assert {"detection.home.quiet_hours", "detection.vitals.waking_hours"} <= set(errs)
    validate({"detection": {"home": {"quiet_hours": "0-24"}}})  # the whole day is a range


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_shows_a_contradiction_on_both_fields_in_its_language(lang):
    from functools import partial

    from gateway.web.forms import DETECTION_FIELDS, FormErrors, submit
    from gateway.web.i18n import translate
    from gateway.web.text import _error_text

    t = partial(translate, lang)
    form = {"detection.home.inactivity_floor_min": "300", "detection.home.inactivity_ceiling_min": "240",
            "detection.home.night_start_hour": "6", "detection.home.night_end_hour": "6"}
    with pytest.raises(FormErrors) as exc:
        submit(validate({}), DETECTION_FIELDS, form)
    by_path = {f.path: f for f in DETECTION_FIELDS}
    shown = {path: [_error_text(t, by_path.get(path), e) for e in errs] for path, errs in exc.value.errors.items()}
    floor, ceiling = "detection.home.inactivity_floor_min", "detection.home.inactivity_ceiling_min"
    assert set(shown) == {floor, ceiling, "detection.home.night_start_hour", "detection.home.night_end_hour"}
    ceiling_label = t(f"field.{ceiling}.label")
    assert shown[floor] == [t("error.conflict.at_most", other=ceiling_label, value="240")]
    assert shown[ceiling] == [t("error.conflict.at_least", other=t(f"field.{floor}.label"), value="300")]
    assert ceiling_label in shown[floor][0] and "error." not in shown[floor][0]
    assert shown["detection.home.night_end_hour"] == [
        t("error.conflict.differ", other=t("field.detection.home.night_start_hour.label"), value="6")]
