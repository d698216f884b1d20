"""The emulated modem's SMS side: the SIM's message storage and what the hub asked to send.

``SimStorage`` answers ``AT+CMGR``/``AT+CMGD``/``AT+CMGL``/``AT+CPMS`` in PDU mode as
SIM7600 and EC2x do; ``SentMessages`` checks, decodes and reassembles every submitted
PDU, as the network (and the phone at the other end) would. Not thread-safe on its
own: the emulator calls it under its lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from drivers.modem.pdu import PduError, decode_submit

SLOTS = 30  # a SIM holds a few dozen messages


@dataclass(frozen=True)
class SentSms:
    number: str
    text: str
    parts: int


def tpdu_length(pdu: str) -> int:
    """Octets after the SMSC information, as ``AT+CMGS=<n>`` and ``+CMGR`` count them."""
    try:
        data = bytes.fromhex(pdu)
    except ValueError:
        return -1
    return len(data) - 1 - data[0] if data else -1


class SimStorage:
    def __init__(self, slots: int = SLOTS) -> None:
        self.size = slots
        self.slots: dict[int, tuple[int, str]] = {}  # index -> (stat, pdu): 0 unread, 1 read
        self.dropped = 0

    def store(self, pdus: list[str]) -> list[int]:
        """Each PDU in the first free slot, unread; a full SIM drops (and counts) the rest."""
        indices = []
        for pdu in pdus:
            free = next((i for i in range(self.size) if i not in self.slots), None)
            if free is None:
                self.dropped += 1
                continue
            self.slots[free] = (0, pdu)
            indices.append(free)
        return indices

    def answer(self, upper: str) -> list[str]:
        if upper.startswith("AT+CPMS="):
            used = len(self.slots)
            return [f"+CPMS: {used},{self.size},{used},{self.size},{used},{self.size}", "OK"]
        args = upper.split("=", 1)[1].split(",")
        try:
            first = int(args[0])
        except ValueError:
            return ["+CMS ERROR: 302"]
        if upper.startswith("AT+CMGR="):
            if first not in self.slots:
                return ["OK"]  # an empty slot, as EC2x answers it
            stat, pdu = self.slots[first]
            self.slots[first] = (1, pdu)
            return [f"+CMGR: {stat},,{tpdu_length(pdu)}", pdu, "OK"]
        if upper.startswith("AT+CMGD="):
            if len(args) > 1 and args[1].strip() == "4":
                self.slots.clear()
            else:
                self.slots.pop(first, None)
            return ["OK"]
        out = []
        for index, (stat, pdu) in sorted(self.slots.items()):  # AT+CMGL=<stat>, 4: all
            if first in (4, stat):
                out += [f"+CMGL: {index},{stat},,{tpdu_length(pdu)}", pdu]
                self.slots[index] = (1, pdu)
        return [*out, "OK"]


class SentMessages:
    def __init__(self, on_sent: Callable[[SentSms], None] | None = None) -> None:
        self.sent: list[SentSms] = []
        self.on_sent = on_sent
        self._mr = random.randrange(256)
        self._parts: dict[tuple[str, int, int], dict[int, str]] = {}

    def submit(self, length: int, pdu: str) -> list[str]:
        """The answer to a PDU after Ctrl-Z: ``+CMGS: <mr>``, or 304 for a PDU that is not one
        or whose length is not the ``AT+CMGS=<n>`` it came with."""
        try:
            submit = decode_submit(pdu)
        except PduError:
            return ["+CMS ERROR: 304"]
        if tpdu_length(pdu) != length:
            return ["+CMS ERROR: 304"]
        self._mr = (self._mr + 1) % 256
        c = submit.concat
        if c is None or c.total == 1:
            self._record(SentSms(submit.number, submit.text, 1))
        else:
            key = (submit.number, c.ref, c.total)
            parts = self._parts.setdefault(key, {})
            parts[c.seq] = submit.text
            if len(parts) == c.total:
                del self._parts[key]
                self._record(SentSms(submit.number, "".join(parts[i] for i in range(1, c.total + 1)), c.total))
        return [f"+CMGS: {self._mr}", "OK"]

    def _record(self, sms: SentSms) -> None:
        self.sent.append(sms)
        if self.on_sent is not None:
            self.on_sent(sms)
