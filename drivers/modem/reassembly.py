"""Concatenated SMS parts back into one message, with bounded memory and time.

Pure: the caller passes the clock. Parts are keyed by sender, reference and part count
(references are per sender and wrap at 256, so the key must include the sender); a message
waits at most ``max_age_s`` for its missing parts and at most ``max_pending`` messages wait at
once (a hostile or broken sender cannot grow memory). Whatever times out or is pushed out is
handed back as incomplete, with "…" where parts are missing, so it can still be logged and read.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field

from drivers.modem.pdu import Deliver

MISSING = "…"


@dataclass(frozen=True)
class Message:
    sender: str
    text: str
    sent_at: dt.datetime | None
    complete: bool
    parts: int
    # The caller's tokens of every part (the modem's storage indices): delete them once handled.
    tokens: tuple[int, ...] = ()


@dataclass
class _Pending:
    first_seen: float
    total: int
    sent_at: dt.datetime | None
    texts: dict[int, str] = field(default_factory=dict)
    tokens: list[int] = field(default_factory=list)

    def message(self, sender: str) -> Message:
        text = "".join(self.texts.get(i, MISSING) for i in range(1, self.total + 1))
        return Message(sender, text, self.sent_at, len(self.texts) == self.total, len(self.texts),
                       tuple(self.tokens))


class Reassembler:
    def __init__(self, *, max_age_s: float = 900.0, max_pending: int = 32) -> None:
        self.max_age_s = max_age_s
        self.max_pending = max_pending
        self._pending: OrderedDict[tuple[str, int, int, int], _Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, part: Deliver, now: float, token: int | None = None) -> list[Message]:
        """Messages finished by this part: the whole one when it was the last missing part (or was
        not concatenated), plus any pushed out incomplete to keep within ``max_pending``."""
        c = part.concat
        tokens = () if token is None else (token,)
        if c is None or c.total == 1:
            return [Message(part.sender, part.text, part.sent_at, True, 1, tokens)]
        key = (part.sender, c.ref_bits, c.ref, c.total)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(now, c.total, None)
        pending.texts[c.seq] = part.text  # a repeated part replaces itself
        if token is not None and token not in pending.tokens:
            pending.tokens.append(token)
        if c.seq == 1 or pending.sent_at is None:  # the first part's stamp is the message's
            pending.sent_at = part.sent_at
        out: list[Message] = []
        if len(pending.texts) == pending.total:
            del self._pending[key]
            out.append(pending.message(part.sender))
        while len(self._pending) > self.max_pending:
            (sender, *_), oldest = self._pending.popitem(last=False)
            out.append(oldest.message(sender))
        return out

    def stored(self) -> int:
        """Tokens (the modem's storage slots) held by messages still waiting for parts."""
        return sum(len(p.tokens) for p in self._pending.values())

    def holds(self, token: int) -> bool:
        return any(token in p.tokens for p in self._pending.values())

    def forget(self, token: int) -> None:
        """The caller freed ``token``'s slot; the part's text stays here."""
        for p in self._pending.values():
            if token in p.tokens:
                p.tokens.remove(token)

    def expire(self, now: float) -> list[Message]:
        """Incomplete messages whose parts have waited longer than ``max_age_s``."""
        out = []
        for key in [k for k, p in self._pending.items() if now - p.first_seen > self.max_age_s]:
            out.append(self._pending.pop(key).message(key[0]))
        return out
