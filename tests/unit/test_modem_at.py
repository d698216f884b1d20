"""AT response lines (27.007 / 27.005 as SIM7600 and EC2x print them), the dialogue's framing, fuzzing."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modem import Modem, at
from drivers.modem.channel import AtChannel
from drivers.modem.types import ModemError


@pytest.mark.parametrize(("line", "ok", "reason"), [
    ("OK", True, "ok"), ("ERROR", False, "error"),
    ("+CME ERROR: 10", False, "cme_error:10"), ("+CMS ERROR: 500", False, "cms_error:500"),
    ("+CMS ERROR:331", False, "cms_error:331"), ("+CME ERROR: SIM not inserted", False, "cme_error:SIM not inserted"),
])
def test_final_results(line, ok, reason):
    assert at.final_result(line) == at.Final(ok, reason)


@pytest.mark.parametrize("line", ["OK 1a2b", "ok", "+CSQ: 20,99", "> ", "RING", "NO CARRIER"])
def test_not_final_results(line):
    assert at.final_result(line) is None


@pytest.mark.parametrize(("rssi", "dbm"), [(0, -113), (1, -111), (2, -109), (20, -73), (30, -53), (31, -51),
                                           (99, None), (100, -116), (191, -25), (199, None), (32, None)])
def test_csq_to_dbm(rssi, dbm):
    assert at.csq_dbm(rssi) == dbm


def test_parse_csq():
    assert at.parse_csq("+CSQ: 20,99") == (20, -73)
    assert at.parse_csq("+CSQ: 99,99") == (None, None)
    for bad in ("+CSQ: ", "+CSQ: 20", "+CSQ: a,b", "+CSQ: 20,99,1", "+CSQ: ²,99"):
        with pytest.raises(at.AtError):
            at.parse_csq(bad)


@pytest.mark.parametrize(("line", "source", "stat", "solicited", "name"), [
    ("+CREG: 0,1", "CREG", 1, True, "home"),
    ("+CREG: 2,5,\"00C3\",\"0010A5B1\",7", "CREG", 5, True, "roaming"),
    ("+CREG: 2", "CREG", 2, False, "searching"),
    ("+CREG: 1,\"00C3\",\"0010A5B1\",7", "CREG", 1, False, "home"),
    ("+CEREG: 1,3", "CEREG", 3, True, "denied"),
    ("+CEREG: 0", "CEREG", 0, False, "not_registered"),
    ("+CEREG: 0,4", "CEREG", 4, True, "unknown"),
    ("+CREG: 0,6", "CREG", 6, True, "home"),        # registered for SMS only, home network
    ("+CEREG: 0,8", "CEREG", 8, True, "not_registered"),  # emergency bearer services only
])
def test_registration_forms(line, source, stat, solicited, name):
    reg = at.parse_registration(line)
    assert (reg.source, reg.stat, reg.solicited, reg.name) == (source, stat, solicited, name)


def test_the_better_of_creg_and_cereg_wins():
    assert at.best_registration("not_registered", "home") == "home"  # LTE-only: +CREG 0, +CEREG 1
    assert at.best_registration("searching", "denied") == "searching"
    assert at.best_registration(None, "bogus") == "unknown"


@pytest.mark.parametrize(("line", "state"), [
    ("+CPIN: READY", "ready"), ("+CPIN: SIM PIN", "pin_required"), ("+CPIN: SIM PUK", "pin_required"),
    ("+CPIN: PH-SIM PIN", "pin_required"), ("+CPIN: NOT READY", "absent"), ("+CPIN: SIM REMOVED", "absent"),
    ("+CPIN: whatever", "unknown"),
])
def test_cpin(line, state):
    assert at.parse_cpin(line) == state


def test_sim_state_from_cme_errors():
    assert at.sim_state_from_error("cme_error:10") == "absent"
    assert at.sim_state_from_error("cme_error:11") == "pin_required"
    assert at.sim_state_from_error("cme_error:14") is None  # busy: say nothing yet
    assert at.sim_state_from_error("error") is None


def test_sms_lines():
    assert at.parse_cmgs("+CMGS: 12") == 12
    assert at.parse_cmgs('+CMGS: 7,"07911326040000F0"') == 7
    assert at.parse_cmti('+CMTI: "SM",3') == ("SM", 3)
    assert at.parse_cmti('+CMTI: "ME",0') == ("ME", 0)
    assert at.parse_cmgr("+CMGR: 0,,22") == (0, 22)
    assert at.parse_cmgr('+CMGR: 1,"",22') == (1, 22)
    assert at.parse_cmgr("+CMGR: 1,22") == (1, 22)     # older firmware without <alpha>
    assert at.parse_cmgl("+CMGL: 1,0,,22") == (1, 0, 22)
    assert at.parse_cops('+COPS: 0,0,"CHINA MOBILE",7') == "CHINA MOBILE"
    assert at.parse_cops("+COPS: 0") is None
    for parse, bad in ((at.parse_cmti, '+CMTI: "S\\"M",3'), (at.parse_cmti, '+CMTI: "SM"'),
                       (at.parse_cmti, "+CMTI: SM,x"), (at.parse_cmgs, "+CMGS:"), (at.parse_cmgr, "+CMGR: 0"),
                       (at.parse_cops, '+COPS: "x'), (at.parse_cmti, '+CMTI: "SM\\r\\nAT+CMGD=1",3')):
        with pytest.raises(at.AtError):
            parse(bad)


@pytest.mark.parametrize(("line", "kind"), [
    ('+CMTI: "SM",1', "cmti"), ("+CREG: 2", "registration"), ("+CEREG: 1", "registration"),
    ("+CPIN: READY", "cpin"), ("RDY", "boot"), ("RING", "ignored"), ("SMS DONE", "ignored"),
    ("+CFUN: 1", "ignored"), ("OK", "result"), ("+CMS ERROR: 500", "result"), ("\x07\x00zz", "garbage"),
])
def test_classify(line, kind):
    assert at.classify(line) == kind


PARSERS = (at.parse_csq, at.parse_registration, at.parse_cpin, at.parse_cops, at.parse_cmgs, at.parse_cmti,
           at.parse_cmgr, at.parse_cmgl)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["+CSQ:", "+CREG:", "+CEREG:", "+CPIN:", "+COPS:", "+CMGS:", "+CMTI:", "+CMGR:",
                        "+CMGL:", ""]), st.text(max_size=60))
def test_random_lines_only_ever_raise_at_error(prefix, rest):
    line = prefix + rest
    at.classify(line)
    at.final_result(line)
    at.is_pdu(line)
    for parse in PARSERS:
        try:
            parse(line)
        except at.AtError:
            pass


# --- the dialogue, without a port ---------------------------------------------------------

class _Wire:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.unsolicited: list[str] = []
        self.channel = AtChannel(self.write, self.unsolicited.append, Counter())

    def write(self, data: bytes) -> bool:
        self.written.append(data)
        return True


async def test_echo_is_dropped_and_unsolicited_lines_are_routed_while_a_command_runs():
    w = _Wire()
    task = asyncio.create_task(w.channel.command("AT+CSQ", within_s=1.0, prefixes=("+CSQ:",)))
    await asyncio.sleep(0)
    w.channel.feed(b"AT+CSQ\r\r\n+CMTI: \"SM\",4\r\n+CSQ: 17")
    w.channel.feed(b",99\r\nRING\r\n\r\nOK\r\n")
    assert await task == ["+CSQ: 17,99"]
    assert w.unsolicited == ['+CMTI: "SM",4', "RING"]
    assert w.written == [b"AT+CSQ\r"]


async def test_a_registration_urc_during_the_read_is_not_the_answer():
    w = _Wire()
    task = asyncio.create_task(w.channel.command("AT+CREG?", within_s=1.0, prefixes=("+CREG:",)))
    await asyncio.sleep(0)
    w.channel.feed(b"\r\n+CREG: 2\r\n\r\n+CREG: 1,1\r\n\r\nOK\r\n")
    assert await task == ["+CREG: 1,1"]
    assert w.unsolicited == ["+CREG: 2"]


async def test_cmgr_pdu_line_is_part_of_the_answer():
    w = _Wire()
    task = asyncio.create_task(w.channel.command("AT+CMGR=1", within_s=1.0, prefixes=("+CMGR:",)))
    await asyncio.sleep(0)
    w.channel.feed(b"\r\n+CMGR: 0,,5\r\n0004AB\r\n\r\nOK\r\n")
    assert await task == ["+CMGR: 0,,5", "0004AB"]


async def test_submit_waits_for_the_prompt_then_sends_pdu_and_ctrl_z():
    w = _Wire()
    task = asyncio.create_task(w.channel.submit(17, "0011AB", prompt_timeout=1.0, send_timeout=1.0))
    await asyncio.sleep(0)
    assert w.written == [b"AT+CMGS=17\r"]
    w.channel.feed(b"\r\n> ")
    await asyncio.sleep(0.01)
    assert w.written[-1] == b"0011AB\x1a"
    w.channel.feed(b"\r\n+CMGS: 9\r\n\r\nOK\r\n")
    assert await task == 9


async def test_submit_refused_before_the_prompt_and_after_it():
    w = _Wire()
    task = asyncio.create_task(w.channel.submit(17, "00", prompt_timeout=1.0, send_timeout=1.0))
    await asyncio.sleep(0)
    w.channel.feed(b"\r\n+CMS ERROR: 310\r\n")
    with pytest.raises(ModemError) as e:
        await task
    assert e.value.reason == "cms_error:310" and w.channel.counters["cms_errors"] == 1


async def test_a_silent_modem_times_out_and_gets_an_esc():
    w = _Wire()
    with pytest.raises(ModemError) as e:
        await w.channel.submit(17, "00", prompt_timeout=0.05, send_timeout=0.05)
    assert e.value.reason == "timeout"
    assert w.written[-1] == b"\x1b" and w.channel.counters["timeouts"] == 1
    w.channel.feed(b"\r\nOK\r\n")  # the late answer belongs to nobody
    assert w.unsolicited == ["OK"]


async def test_a_lost_port_fails_the_waiting_command_at_once():
    w = _Wire()
    task = asyncio.create_task(w.channel.command("AT", within_s=10.0))
    await asyncio.sleep(0)
    w.channel.close()
    with pytest.raises(ModemError) as e:
        await task
    assert e.value.reason == "closed"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_random_bytes_into_the_modem_are_counted_never_raised(chunks):
    modem = Modem("/nonexistent", on_sms=lambda sms: None)
    for chunk in chunks:
        modem._channel.feed(chunk)
    lines = sum(1 for c in chunks for part in c.replace(b"\n", b"\r").split(b"\r") if part.strip())
    handled = sum(modem.counters[k] for k in ("garbage_lines", "urc_ignored", "late_results", "modem_restarts"))
    assert handled <= lines + len(chunks)


def test_line_noise_is_counted_line_by_line():
    modem = Modem("/nonexistent", on_sms=lambda sms: None)
    modem._channel.feed(b"\x00\x01\xffnoise\r\n" * 100 + b"x" * 5000)
    assert modem.counters["garbage_lines"] == 101  # the overlong run without a line end is one more
