"""Incoming SMS: read from the modem's storage, reassembled, handed over, then deleted.

An SMS is deleted (``AT+CMGD``) only after ``on_sms`` returned without raising, so a hub
that dies in between, or a callback that fails, finds it again at the next sweep
(``AT+CMGL=4`` at every status poll). A concatenated SMS's parts stay stored until the
whole message is handed over, so a restart between two parts loses neither (but at most
``MAX_STORED_PARTS`` of them: the SIM must keep room for replies). A PDU that cannot be
decoded is logged whole and deleted: kept, it would fill the SIM's storage.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import structlog

from drivers.modem import at
from drivers.modem.pdu import PduError, decode_deliver
from drivers.modem.reassembly import Message, Reassembler
from drivers.modem.types import IncomingSms, ModemError

log = structlog.get_logger("carehub.modem")

MAX_STORED_PARTS = 8
Command = Callable[[str, tuple[str, ...]], Awaitable[list[str]]]


def _fatal(exc: ModemError) -> bool:
    """A timeout or a lost port ends the dialogue; an ERROR for one message does not."""
    return exc.reason in ("timeout", "closed")


class Inbox:
    def __init__(self, command: Command, on_sms: Callable[[IncomingSms], None], counters: Counter[str],
                 on_garbage: Callable[[str], None], *, part_max_age_s: float = 900.0) -> None:
        self._cmd = command
        self._on_sms = on_sms
        self.counters = counters
        self._on_garbage = on_garbage
        self._reassembler = Reassembler(max_age_s=part_max_age_s)
        self._memory: str | None = None

    def reset(self) -> None:
        """A new set-up: the modem's read memory is whatever it now says."""
        self._memory = None

    async def sweep(self) -> None:
        """Every stored received SMS (``AT+CMGL=4``: all of them, in PDU mode)."""
        try:
            lines = await self._cmd("AT+CMGL=4", ("+CMGL:",))
        except ModemError as exc:
            if _fatal(exc):
                raise
            return
        for header, pdu in itertools.pairwise(lines):
            if not header.startswith("+CMGL:") or not at.is_pdu(pdu):
                continue
            try:
                index, stat, _length = at.parse_cmgl(header)
            except at.AtError:
                self._on_garbage(header)
                continue
            if stat in (0, 1):  # received unread / read; 2 and 3 are outgoing drafts, not ours
                await self._take(index, pdu)

    async def read(self, memory: str, index: int) -> None:
        """The SMS a ``+CMTI: "<memory>",<index>`` announced."""
        if memory != self._memory:
            try:
                await self._cmd(f'AT+CPMS="{memory}"', ("+CPMS:",))
                self._memory = memory
            except ModemError as exc:
                if _fatal(exc):
                    raise
        try:
            lines = await self._cmd(f"AT+CMGR={index}", ("+CMGR:",))
        except ModemError as exc:
            if _fatal(exc):
                raise
            return  # already read and deleted by a sweep, or an empty slot
        pdus = [line for line in lines if at.is_pdu(line)]
        if pdus:
            await self._take(index, pdus[0])

    async def expire(self) -> None:
        """Hand over, incomplete, the concatenated SMS whose missing parts never came."""
        for message in self._reassembler.expire(time.monotonic()):
            await self._hand_over(message)

    async def _take(self, index: int, pdu: str) -> None:
        try:
            part = decode_deliver(pdu)
        except PduError as exc:
            self.counters["bad_pdu"] += 1
            log.warning("modem.bad_pdu", index=index, error=str(exc), pdu=pdu[:400])
            await self._delete((index,))
            return
        self.counters["received_parts"] += 1
        for message in self._reassembler.add(part, time.monotonic(), index):
            await self._hand_over(message)
        if self._reassembler.holds(index) and self._reassembler.stored() > MAX_STORED_PARTS:
            # Parts waiting for their siblings must not fill the SIM: a full SIM refuses the next
            # SMS, which may be the reply that acknowledges an alarm. This one is kept in memory only.
            self._reassembler.forget(index)
            self.counters["parts_unstored"] += 1
            await self._delete((index,))

    async def _hand_over(self, message: Message) -> None:
        if not message.complete:
            self.counters["incomplete"] += 1
            log.warning("modem.sms_incomplete", sender=message.sender, parts=message.parts, text=message.text)
        try:
            self._on_sms(IncomingSms(message.sender, message.text, message.sent_at, message.complete))
        except Exception:
            self.counters["callback_failed"] += 1
            log.exception("modem.on_sms_failed", sender=message.sender)
            return  # kept on the modem: the next sweep offers it again
        self.counters["received"] += 1
        log.info("modem.received", sender=message.sender, chars=len(message.text), parts=message.parts,
                 complete=message.complete)
        await self._delete(message.tokens)

    async def _delete(self, indices: tuple[int, ...]) -> None:
        for index in indices:
            try:
                await self._cmd(f"AT+CMGD={index}", ())
            except ModemError as exc:
                if _fatal(exc):
                    raise
                self.counters["delete_failed"] += 1
                log.warning("modem.delete_failed", index=index, reason=exc.reason)
