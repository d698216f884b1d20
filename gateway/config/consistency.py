"""Settings that are each allowed alone but contradict each other.

A floor above its ceiling, or a night that starts when it ends, would make a
detector behave in a way nobody asked for (inactivity raised by the ceiling
before the floor allows it, no night at all). Such a pair is refused with an
error on each of the two fields, so the file check names both lines and the
page marks both inputs.
"""

from __future__ import annotations

from typing import Any

from gateway.config.errors import FieldError, Relation
from gateway.config.schema import Config

# (lower key path, upper key path): lower must not be more than upper.
ORDERED: tuple[tuple[str, str], ...] = (
    ("detection.home.inactivity_floor_min", "detection.home.inactivity_ceiling_min"),
    ("detection.home.inactivity_floor_min", "detection.home.sleep_ceiling_min"),
    ("detection.home.dwell_floor_min", "detection.home.dwell_ceiling_min"),
    ("platform.reconnect_min_s", "platform.reconnect_max_s"),
    ("rflink.reopen_min_s", "rflink.reopen_max_s"),
)
# Key paths that must not be equal.
DIFFERENT: tuple[tuple[str, str], ...] = (
    ("detection.home.night_start_hour", "detection.home.night_end_hour"),
)
# "H-H" ranges whose two hours must differ: "13-13" is an empty range nobody means ("0-24" is the whole day).
HOUR_RANGES: tuple[str, ...] = ("detection.home.quiet_hours", "detection.vitals.waking_hours")


def value_at(cfg: Any, path: str) -> Any:
    for part in path.split("."):
        cfg = getattr(cfg, part)
    return cfg


def _pair(path: str, value: Any, relation: Relation, other: str, other_value: Any) -> FieldError:
    words = {"at_most": "at most", "at_least": "at least", "differ": "different from"}[relation]
    return FieldError(path, value, f"{words} {other} (now {other_value!r})", other=other, relation=relation,
                      other_value=other_value)


def check_consistency(cfg: Config, errors: list[FieldError]) -> None:
    for low, high in ORDERED:
        lo, hi = value_at(cfg, low), value_at(cfg, high)
        if lo > hi:
            errors.append(_pair(low, lo, "at_most", high, hi))
            errors.append(_pair(high, hi, "at_least", low, lo))
    for a, b in DIFFERENT:
        va, vb = value_at(cfg, a), value_at(cfg, b)
        if va == vb:
            errors.append(_pair(a, va, "differ", b, vb))
            errors.append(_pair(b, vb, "differ", a, va))
    for path in HOUR_RANGES:
        text = value_at(cfg, path)
        if text:
            start, end = (int(h) for h in text.split("-"))
            if start == end:
                errors.append(FieldError(path, text, "two different hours, e.g. '13-15'"))


def describe() -> list[str]:
    """The rules above as Markdown, for docs/configuration.md (so the reference cannot drift from them)."""
    lines = ["## Settings that contradict each other", "",
             "Each of these is allowed alone; together they are refused, with an error on both keys "
             "(`carehub config check` names both lines; the page marks both fields):", ""]
    lines += [f"- `{low}` must not be more than `{high}`" for low, high in ORDERED]
    lines += [f"- `{a}` must differ from `{b}`" for a, b in DIFFERENT]
    lines += [f"- `{p}`: the two hours must differ (`13-13` is an empty range; `0-24` is the whole day)"
              for p in HOUR_RANGES]
    lines += ["", "A key the schema does not know is refused too, with its line number and the known key it "
              "most resembles (`line 6: detection.home.inactivty_floor_min = 50 is not allowed: a known key "
              "(did you mean detection.home.inactivity_floor_min?)`).", ""]
    return lines
