"""Incoming SMS handling against a scripted modem: nothing deleted before it was handed over."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from drivers.modem import pdu
from drivers.modem.inbox import MAX_STORED_PARTS, Inbox
from drivers.modem.types import IncomingSms, ModemError

WHEN = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


class Script:
    """Stands in for the AT channel: a storage of PDUs and the commands it was given."""

    def __init__(self, stored: dict[int, str]) -> None:
        self.stored = dict(stored)
        self.commands: list[str] = []

    async def __call__(self, command: str, prefixes: tuple[str, ...]) -> list[str]:
        self.commands.append(command)
        if command == "AT+CMGL=4":
            out: list[str] = []
            for i, p in sorted(self.stored.items()):
                out += [f"+CMGL: {i},0,,{len(p) // 2 - 1}", p]
            return out
        if command.startswith("AT+CMGR="):
            i = int(command.split("=")[1])
            return [f"+CMGR: 0,,{len(self.stored[i]) // 2 - 1}", self.stored[i]] if i in self.stored else []
        if command.startswith("AT+CMGD="):
            if self.stored.pop(int(command.split("=")[1]), None) is None:
                raise ModemError("cms_error:321", command)
            return []
        return []


def _inbox(script: Script, on_sms, **kw) -> tuple[Inbox, Counter[str]]:  # type: ignore[no-untyped-def]
    counters: Counter[str] = Counter()
    return Inbox(script, on_sms, counters, lambda line: counters.update(["garbage_lines"]), **kw), counters


async def test_a_sweep_hands_over_whole_messages_then_deletes_every_part():
    long = "收到 1a2b，" + "我马上就到。" * 20
    parts = pdu.encode_deliver("+8613900000001", long, WHEN, concat_ref=5)
    script = Script({0: parts[1], 3: pdu.encode_deliver("10086", "余额提醒", WHEN)[0], 7: parts[0], 9: "0004ZZ"})
    got: list[IncomingSms] = []
    inbox, counters = _inbox(script, got.append)
    await inbox.sweep()
    assert [(s.sender, s.text, s.complete) for s in got] == [("10086", "余额提醒", True),
                                                             ("+8613900000001", long, True)]
    assert script.stored == {9: "0004ZZ"}  # not hex: not a PDU line at all, left alone
    assert counters["received"] == 2 and counters["received_parts"] == 3


async def test_an_undecodable_pdu_is_deleted_and_counted():
    script = Script({2: "0004"})
    inbox, counters = _inbox(script, lambda sms: None)
    await inbox.read("SM", 2)
    assert script.stored == {} and counters["bad_pdu"] == 1
    assert script.commands == ['AT+CPMS="SM"', "AT+CMGR=2", "AT+CMGD=2"]


async def test_a_failing_callback_leaves_the_sms_on_the_modem():
    script = Script({1: pdu.encode_deliver("+8613900000001", "OK 1a2b", WHEN)[0]})

    def fail(sms: IncomingSms) -> None:
        raise RuntimeError("busy")

    inbox, counters = _inbox(script, fail)
    await inbox.sweep()
    assert 1 in script.stored and counters["callback_failed"] == 1


async def test_waiting_parts_never_fill_the_sim():
    script = Script({i: pdu.encode_deliver(f"+86139000000{i:02d}", "x" * 200, WHEN, concat_ref=i)[0]
                     for i in range(MAX_STORED_PARTS + 4)})
    inbox, counters = _inbox(script, lambda sms: None)
    await inbox.sweep()
    assert len(script.stored) == MAX_STORED_PARTS
    assert counters["parts_unstored"] == 4


async def test_parts_that_never_complete_are_handed_over_incomplete():
    first = pdu.encode_deliver("+8613900000001", "y" * 200, WHEN, concat_ref=1)[0]
    script = Script({4: first})
    got: list[IncomingSms] = []
    inbox, _ = _inbox(script, got.append, part_max_age_s=0.0)
    await inbox.sweep()
    assert got == []
    await inbox.expire()
    assert len(got) == 1 and not got[0].complete and got[0].text == "y" * 153 + "…"
    assert script.stored == {}
