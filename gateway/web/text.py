"""Words on the page built from data: times, field help, live events, errors, in the page's language."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from gateway.config import FieldError
from gateway.web.forms import FormField


def _when(wall: float | None) -> str:
    if wall is None:
        return "—"
    return datetime.fromtimestamp(wall).strftime("%Y-%m-%d %H:%M:%S")


def ago(t: Callable[..., str], wall: float, now: float) -> str:
    """How long ago, in the page's language: "just now", "3 min ago", "2 h 5 min ago", "3 days ago";
    a time in the future (a clock set wrong) or more than a week ago as the date and time itself."""
    d = now - wall
    if d < -60 or d >= 7 * 86400:
        return _when(wall)
    if d < 60:
        return t("time.just_now")
    if d < 3600:
        return t("time.min_ago", n=int(d // 60))
    if d < 86400:
        return t("time.h_ago", h=int(d // 3600), m=int(d % 3600 // 60))
    return t("time.days_ago", n=int(d // 86400))


def reltime(t: Callable[..., str], wall: float | None, now: float) -> Markup:
    """A relative time whose absolute time shows on hover and, focused by a tap or the keyboard, on phones."""
    if wall is None:
        return Markup("—")
    iso = datetime.fromtimestamp(wall).astimezone().isoformat(timespec="seconds")
    return Markup(f'<time class="rel" datetime="{iso}" title="{_when(wall)}" tabindex="0" data-wall="{wall:.0f}">'
                  f'{escape(ago(t, wall, now))}</time>')


def duration(t: Callable[..., str], seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return t("time.min", n=minutes)
    return t("time.h_min", h=minutes // 60, m=minutes % 60)


def field_help(t: Callable[..., str], f: FormField) -> str:
    parts = [t(f"field.{f.path}.help")]
    if f.min is not None and f.max is not None:
        parts.append(t("form.range", min=f"{f.min:g}", max=f"{f.max:g}", unit=_unit(t, f)))
    parts = [p for p in parts if p]
    # A Chinese sentence ends with its own full-width stop, and is followed by no space.
    return "".join(p if i == len(parts) - 1 or p.endswith(("。", "；", "：")) else p + " "
                   for i, p in enumerate(parts)).strip()


def _unit(t: Callable[..., str], f: FormField) -> str:
    return " " + t(f"unit.{f.unit}") if f.unit else ""


def event_text(t: Callable[..., str], ev: Mapping[str, Any]) -> str:
    """One live event in the page's language, built from its fields rather than its English text."""
    kind = ev.get("kind", "")
    d = ev.get("detail") or {}
    if kind == "motion":
        return t("event.motion" if d.get("active", True) else "event.motion_end")
    if kind == "button":
        return t(f"event.button.{d.get('action', 'help')}")
    if kind == "finding":
        return t("event.finding", what=_label(t, "finding", d.get("type", "")), state=t(f"state.{d.get('state', '')}"))
    if kind == "alert":
        return t("event.alert", id=str(ev.get("alert_id", ""))[:8], state=t(f"state.{ev.get('state', '')}"))
    if kind == "status":
        parts = []
        for key, value in d.items():
            msg = f"event.status.{key}.{str(value).lower()}" if isinstance(value, bool) else f"event.status.{key}"
            text = t(msg, value=f"{value:g}" if isinstance(value, float) else value)
            parts.append(f"{key}={value}" if text == msg else text)  # a reading this page does not know yet
        return t("event.status", detail=", ".join(parts))
    if kind == "vital":
        return t("event.vital", bpm=d.get("heart_rate_bpm", "?"))
    if "active" in d:
        return t("event.contact", kind=_label(t, "kind", kind), state=t("event.on" if d["active"] else "event.off"))
    return str(ev.get("text", kind))


def _label(t: Callable[..., str], prefix: str, value: Any) -> str:
    """A known room, kind or finding type in the page's language; anything else (a room the
    installer invented) as it is."""
    text = t(f"{prefix}.{value}")
    return str(value) if text == f"{prefix}.{value}" else text


def _error_text(t: Callable[..., str], f: FormField | None, e: FieldError) -> str:
    """An error in the page's language, built from the field's constraints where they say it."""
    if e.value == "<missing>":
        return t("error.required")
    if e.relation:  # fine alone, contradicts another field: name that field as the page labels it
        label = t(f"field.{e.other}.label")
        value = f"{e.other_value:g}" if isinstance(e.other_value, int | float) else e.other_value
        return t(f"error.conflict.{e.relation}", other=e.other if label == f"field.{e.other}.label" else label,
                 value=value)
    if f is not None:
        if f.kind in ("int", "float") and f.min is not None and f.max is not None:
            return t("error.range", min=f"{f.min:g}", max=f"{f.max:g}", unit=_unit(t, f))
        if f.kind in ("int", "float"):
            return t("error.number")
        if f.kind == "choice":
            return t("error.choice")
        if f.pattern and "already used" not in e.allowed and "together" not in e.allowed \
                and not (isinstance(e.value, str) and re.fullmatch(f.pattern, e.value)):
            # (A value in the right format is wrong for another reason, e.g. an unknown service: say that.)
            return t(f"field.{f.path}.format")
    if "already used" in e.allowed:
        return t("error.duplicate")
    return t("error.other", reason=e.allowed)
