"""What the second path's SMS say, and what a reply means: pure text, no modem, no clock.

An alert SMS names the alert by a short id (the first 4 to 8 hex digits of its UUID,
as few as keep it unique among the alerts it could be confused with), so that a
person can answer ``OK 3FA2`` or ``收到 3FA2`` from a phone keyboard. Replies are read
tolerantly: any case, full-width letters and digits (a Chinese keyboard's default),
spaces or punctuation between the word and the id, trailing words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Language = Literal["zh", "en"]

SHORT_MIN = 4
SHORT_MAX = 8

KINDS: dict[str, tuple[str, str]] = {
    "help_call": ("紧急求助", "help call"),
    "fall": ("跌倒", "fall"),
    "inactivity": ("长时间无活动", "no activity for too long"),
    "room_dwell": ("在同一房间停留过久", "in one room for too long"),
    "no_wake": ("未见起床", "no sign of getting up"),
    "night_wandering": ("夜间外出未归", "went out at night, not back"),
    "night_out_of_bed": ("夜间离床过久", "out of bed at night for too long"),
    "heart_rate_low": ("心率过低", "heart rate low"),
    "heart_rate_high": ("心率过高", "heart rate high"),
    "spo2_low": ("血氧过低", "blood oxygen low"),
    "fever_high": ("高烧", "high fever"),
    "body_temperature_low": ("体温过低", "body temperature low"),
    "blood_pressure_high": ("血压过高", "blood pressure high"),
    "blood_pressure_low": ("血压过低", "blood pressure low"),
    "test": ("测试报警", "test alarm"),
}
SEVERITIES: dict[str, tuple[str, str]] = {
    "emergency": ("紧急", "EMERGENCY"),
    "urgent": ("急需关注", "URGENT"),
}
ROOMS: dict[str, tuple[str, str]] = {
    "bedroom": ("卧室", "bedroom"), "bathroom": ("卫生间", "bathroom"), "kitchen": ("厨房", "kitchen"),
    "living": ("客厅", "living room"), "entrance": ("门厅", "entrance"), "hall": ("走廊", "hall"),
    "dining": ("餐厅", "dining room"), "balcony": ("阳台", "balcony"), "study": ("书房", "study"),
    "other": ("其他", "other"),
}


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What an alert SMS says about the alert."""

    short_id: str
    type: str
    severity: str
    level: int
    room: str | None
    device: str | None
    local_time: str  # hub local time, e.g. "12-02 07:31"
    site: str  # the home's name, or the site id


def _pick(table: dict[str, tuple[str, str]], key: str | None, lang: Language) -> str:
    if key is None:
        return ""
    pair = table.get(key)
    return (pair[0] if lang == "zh" else pair[1]) if pair else key


def alert_text(a: AlertFacts, lang: Language) -> str:
    sev, kind, room = _pick(SEVERITIES, a.severity, lang), _pick(KINDS, a.type, lang), _pick(ROOMS, a.room, lang)
    if lang == "zh":
        where = f"{room}（{a.device}）" if room and a.device else room or a.device or ""
        return (f"【{sev}】{a.site}：{kind}，{where}，{a.local_time}，第{a.level}级。"
                f"警报 {a.short_id}，请回复“收到 {a.short_id}”确认。")
    where = f"{room} ({a.device})" if room and a.device else room or a.device or ""
    return (f"{sev} {a.site}: {kind}, {where}, {a.local_time}, level {a.level}. "
            f"Alert {a.short_id}: reply OK {a.short_id} to acknowledge.")


def confirmation_text(short_id: str, kind: str, lang: Language) -> str:
    name = _pick(KINDS, kind, lang)
    if lang == "zh":
        return f"已确认：警报 {short_id}（{name}）由您确认，平台将收到通知。"
    return f"Confirmed: alert {short_id} ({name}) acknowledged by you; the platform will be told."


def test_text(code: str, site: str, lang: Language) -> str:
    if lang == "zh":
        return f"carehub 通道测试 {code}（{site}），请回复“OK {code}”。"
    return f"carehub path test {code} ({site}): please reply OK {code}."


def short_id(alert_id: str, others: Iterable[str]) -> str:
    """The shortest prefix (4 to 8 hex digits, upper case) of ``alert_id`` that no id in ``others`` shares."""
    mine = _hex(alert_id)
    rivals = [h for h in (_hex(o) for o in others) if h != mine]
    for n in range(SHORT_MIN, SHORT_MAX + 1):
        prefix = mine[:n]
        if not any(r.startswith(prefix) for r in rivals):
            return prefix
    return mine[:SHORT_MAX]


def _hex(alert_id: str) -> str:
    return alert_id.replace("-", "").upper()


@dataclass(frozen=True, slots=True)
class Reply:
    word: str  # "OK" or "收到"
    token: str  # the id as typed, upper case


# After "OK" a separator, or digits straight away ("OK3FA2"); "OKAY" is not "OK AY".
_REPLY = re.compile(r"^(?:(OK)(?:[\s:,.;#!\-]+|(?=[0-9]))|(收到了?)[\s:,.;#!\-。、]*)#?([0-9A-Z]{3,12})(?![0-9A-Z])")


def parse_reply(text: str) -> Reply | None:
    """``OK <id>`` or ``收到 <id>`` in any case, full or half width; None for anything else."""
    norm = unicodedata.normalize("NFKC", text).strip().upper()
    m = _REPLY.match(norm)
    if m is None:
        return None
    return Reply("OK" if m.group(1) else "收到", m.group(3))


def same_number(a: str, b: str) -> bool:
    """The same phone written two ways: ``+8613800138000``, ``008613800138000``, ``13800138000``."""
    da, db = _digits(a), _digits(b)
    if not da or not db:
        return False
    if da == db:
        return True
    short, long_ = sorted((da, db), key=len)
    # A national number against the same number with a country code of 1 to 3 digits.
    return len(short) >= 7 and long_.endswith(short) and len(long_) - len(short) <= 3


def _digits(number: str) -> str:
    d = "".join(ch for ch in unicodedata.normalize("NFKC", number) if ch.isdigit())
    return d[2:] if d.startswith("00") else d
