"""Message catalogues for the technician's page (Simplified Chinese and English).

Every word the page shows comes from ``messages/<lang>.json``; templates and
handlers only name message keys. The language is the one the technician picked
on the page (a cookie), else the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT = "en"
COOKIE = "carehub_lang"


@cache
def catalogue(lang: str) -> dict[str, str]:
    text = resources.files("gateway.web").joinpath("messages", f"{lang}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def translate(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` placeholders filled.

    A key missing from a catalogue falls back to English and then to the key
    itself, so a gap shows up as a readable oddity rather than an error page;
    the catalogue test keeps both files complete.
    """
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT).get(key, key)
    return text.format(**values) if values else text


def pick(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-", 1)[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best
