"""SMS PDUs: golden vectors from published examples, the split into parts, reassembly, fuzzing.

Sources of the vectors (docs/modem.md, "Sources"): python-gsmmodem's test suite
(faucamp/python-gsmmodem test/test_pdu.py), Nordic Semiconductor's AT+CMGS reference,
the dreamfabric/turbocontrol "SMS and the PDU format" pages, 3GPP TS 23.040 / 23.038.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modem import gsm7, pdu
from drivers.modem.reassembly import Reassembler


def tz(hours: float) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours))


# --- SMS-SUBMIT golden vectors ------------------------------------------------------------

@pytest.mark.parametrize(("number", "text", "kwargs", "expected", "length"), [
    # python-gsmmodem: international number, 7-bit, no validity period
    ("+27820001111", "Hello World!", {"validity": None},
     "0001000B917228001011F100000CC8329BFD065DDF72363904", 24),
    # python-gsmmodem: UCS-2 Chinese, SMSC given, relative validity 0xF4
    ("+123456789", "世界您好！", {"validity": 0xF4, "smsc": "+44000000000"},
     "07914400000000F01100099121436587F90008F40A4E16754C60A8597DFF01", 23),
    # Nordic AT+CMGS reference: AT+CMGS=42, SMSC +448888888, one hour validity
    ("+358401234567", "Testing a sms messaging over lte", {"validity": 0x0B, "smsc": "+448888888"},
     "069144888888F811000C9153481032547600000B20D4F29C9E769F4161D0BC3D07B5CBF379F89C769F416F7B590E62D3CB",
     42),
    # the "PDU mode length" example: national number, 4 days validity, AT+CMGS=17
    ("1234657", "hello", {"validity": 0xAA}, "0011000781214356F70000AA05E8329BFD06", 17),
])
def test_submit_matches_published_pdus(number, text, kwargs, expected, length):
    (part,) = pdu.encode_submit(number, text, **kwargs)
    assert part.pdu == expected
    assert part.tpdu_length == length


LOREM = ("Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua.Ut enim ad minim veniam, quinostrud exercitation ullamco laboris nisi ut aliquip "
         "ex ea commodo consequat.Duis aute irure dolor in reprehenderit in voluptate velit esse cillum doloe eu "
         "fugiat nulla pariatur.Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia "
         "deserunt mollit anim id est laborum")


def test_concatenated_7bit_submit_matches_python_gsmmodem():
    parts = pdu.encode_submit("+15125551234", LOREM, validity=None, reject_duplicates=True, concat_ref=0)
    assert [p.pdu[:40] for p in parts] == [
        "0045000B915121551532F40000A0050003000301",
        "0045000B915121551532F40000A0050003000302",
        "0045000B915121551532F400008C050003000303",
    ]
    assert parts[2].pdu.endswith("E6287C56F79BD0D")
    assert [(p.seq, p.total) for p in parts] == [(1, 3), (2, 3), (3, 3)]


def test_default_submit_asks_for_24_hours_validity_and_lets_the_modem_set_the_reference():
    (part,) = pdu.encode_submit("+8613800000000", "hi")
    data = bytes.fromhex(part.pdu)
    assert data[0] == 0x00 and data[1] == 0x11 and data[2] == 0x00  # no SMSC, VPF relative, TP-MR 0
    assert data[3:5] == bytes([13, 0x91])  # 13 digits, international
    assert data[-4] == pdu.VP_24H


def test_national_and_formatted_numbers():
    assert pdu.encode_address("+86 138-0000-0000") == bytes.fromhex("0D91683108000000F0")
    assert pdu.encode_address("13800000000") == bytes.fromhex("0B813108000000F0")
    for bad in ("", "+", "12ab", "+" + "1" * 21, "call me"):
        with pytest.raises(pdu.PduError):
            pdu.encode_address(bad)


# --- the split into parts -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "dcs", "sizes"), [
    ("a" * 160, pdu.DCS_GSM7, [160]),
    ("a" * 161, pdu.DCS_GSM7, [153, 8]),
    ("€" * 80, pdu.DCS_GSM7, [80]),           # 160 septets: still one SMS
    ("a" * 152 + "€" + "b" * 8, pdu.DCS_GSM7, [152, 9]),  # the escape pair is not split across parts
    ("汉" * 70, pdu.DCS_UCS2, [70]),
    ("汉" * 71, pdu.DCS_UCS2, [67, 4]),
    ("a" * 66 + "😀" + "汉" * 10, pdu.DCS_UCS2, [66, 11]),  # nor a surrogate pair
])
def test_text_splits_at_the_published_sizes(text, dcs, sizes):
    got_dcs, parts = pdu.split_text(text)
    assert got_dcs == dcs
    assert [len(p) for p in parts] == sizes
    assert "".join(parts) == text


def test_a_long_chinese_alert_is_two_ucs2_parts_of_at_most_140_octets():
    text = "紧急：王秀英（卧室）按下求助按钮，请立即联系她或回复“收到 1a2b”确认。" * 3
    parts = pdu.encode_submit("+8613800000000", text, concat_ref=42)
    assert len(parts) == 2
    for p in parts:
        data = bytes.fromhex(p.pdu)
        assert p.tpdu_length == len(data) - 1 <= 164
    decoded = [pdu.decode_submit(p.pdu) for p in parts]
    assert all(d.dcs == pdu.DCS_UCS2 for d in decoded)
    assert [d.concat for d in decoded] == [pdu.Concat(42, 2, 1), pdu.Concat(42, 2, 2)]
    assert "".join(d.text for d in decoded) == text


def test_more_than_255_parts_is_refused():
    with pytest.raises(pdu.PduError):
        pdu.encode_submit("+8613800000000", "汉" * (67 * 255 + 1))


# --- SMS-DELIVER golden vectors -----------------------------------------------------------

@pytest.mark.parametrize(("hexpdu", "sender", "text", "sent_at", "smsc"), [
    ("06917228195339040B917228214365F700003130805120618005D4F29C2E03", "+27821234567", "Test2",
     dt.datetime(2013, 3, 8, 15, 2, 16, tzinfo=tz(2)), "+2782913593"),
    ("07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885EC6D341EDF27C"
     "1E3E97E7207B3A0C0A5241E377BB1D7693E72E", "+85291234567",
     "It is easy to read text messages via AT commands.", dt.datetime(2007, 4, 12, 23, 25, 42, tzinfo=tz(8)),
     "+85290000000"),
    # the extension table and the default alphabet's accented letters
    ("06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910", "+27821234567", "@{tést}!",
     dt.datetime(2013, 3, 26, 13, 35, 25, tzinfo=tz(2)), "+2782913593"),
    # the classic dreamfabric example; its zone octet 0x08 is "-0 quarters" by 23.040 9.2.3.11
    ("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", "+31641600986",
     "How are you?", dt.datetime(2002, 8, 26, 19, 37, 41, tzinfo=dt.UTC), "+31624000000"),
])
def test_deliver_matches_published_pdus(hexpdu, sender, text, sent_at, smsc):
    got = pdu.decode_deliver(hexpdu)
    assert (got.sender, got.text, got.sent_at, got.smsc) == (sender, text, sent_at, smsc)
    assert got.sent_at is not None and got.sent_at.utcoffset() == sent_at.utcoffset()


def test_deliver_with_a_national_sender_and_a_concatenation_header():
    got = pdu.decode_deliver(
        "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E064941B19CAB060319A5C5"
        "22289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87A7E565D0DB0D82C55EB0DB4B068BCD5C20")
    assert got.sender == "2781188"
    assert got.concat == pdu.Concat(0xC3, 1, 1)
    assert got.text == "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on 01/07/2013. "


def test_alphanumeric_senders_decode():
    # python-gsmmodem's address vectors: "abc" and "FRANCOIS" as 7-bit packed originators
    for field, name in (("06D061F118", "abc"), ("0ED04669D0397C26A7", "FRANCOIS")):
        body = "04" + field + "0000" + "52105021000023" + "02" + "E834"  # "hi"
        got = pdu.decode_deliver("00" + body)
        assert got.sender == name and got.text == "hi"


def test_16_bit_concatenation_reference_and_8_bit_and_ucs2_data():
    ts = "52105021000023"
    udh = "060804BEEF0302"  # IEI 0x08: 16-bit reference 0xBEEF, 3 parts, this is the 2nd
    ucs2 = "6536523000200031".lower()  # "收到 1"
    got = pdu.decode_deliver("00" + "44" + "0B818113000000F0" + "0008" + ts + "0F" + udh + ucs2)
    assert got.concat == pdu.Concat(0xBEEF, 3, 2, 16)
    assert got.text == "收到 1" and got.sent_at == dt.datetime(2025, 1, 5, 12, 0, 0, tzinfo=tz(8))
    got8 = pdu.decode_deliver("00" + "04" + "0B818113000000F0" + "0004" + ts + "02" + "4F4B")
    assert got8.text == "OK" and got8.dcs == pdu.DCS_8BIT


def test_a_nonsense_time_stamp_keeps_the_message():
    got = pdu.decode_deliver("00" + "04" + "0B818113000000F0" + "0000" + "99999999999999" + "02" + "E834")
    assert got.sent_at is None and got.text == "hi"


def test_deliver_round_trips_through_the_emulators_encoder():
    when = dt.datetime(2026, 12, 2, 8, 30, tzinfo=tz(-5.5))
    text = "收到 1a2b，我马上过去。" * 8
    parts = pdu.encode_deliver("+8613800000000", text, when, concat_ref=9)
    decoded = [pdu.decode_deliver(p) for p in parts]
    assert "".join(d.text for d in decoded) == text
    assert all(d.sent_at == when and d.sender == "+8613800000000" for d in decoded)


@pytest.mark.parametrize("bad", [
    "", "zz", "00", "0004", "00040B81", "0001000B917228001011F1",  # truncations; a SUBMIT is not a DELIVER
    "0044" + "0B818113000000F0" + "0008" + "52105021000023" + "05" + "09",  # header longer than the data
    "0004" + "0B818113000000F0" + "0020" + "52105021000023" + "02" + "E834",  # compressed text
])
def test_malformed_deliver_raises_pdu_error(bad):
    with pytest.raises(pdu.PduError):
        pdu.decode_deliver(bad)


# --- reassembly ---------------------------------------------------------------------------

def _part(text: str, seq: int, total: int, ref: int = 7, sender: str = "+861") -> pdu.Deliver:
    return pdu.Deliver(sender, text, None, 0, pdu.Concat(ref, total, seq), None)


def test_parts_in_any_order_make_one_message_with_every_storage_index():
    r = Reassembler()
    assert r.add(_part("c", 3, 3), 0.0, 12) == []
    assert r.add(_part("a", 1, 3), 1.0, 10) == []
    assert r.add(_part("a", 1, 3), 1.5, 10) == []  # the same part read again by a sweep
    (msg,) = r.add(_part("b", 2, 3), 2.0, 11)
    assert (msg.text, msg.complete, msg.parts, sorted(msg.tokens)) == ("abc", True, 3, [10, 11, 12])
    assert len(r) == 0


def test_same_reference_from_two_senders_are_two_messages():
    r = Reassembler()
    r.add(_part("x1", 1, 2, sender="+1"), 0.0)
    r.add(_part("y1", 1, 2, sender="+2"), 0.0)
    (msg,) = r.add(_part("x2", 2, 2, sender="+1"), 0.0)
    assert msg.text == "x1x2" and len(r) == 1


def test_missing_parts_expire_as_an_incomplete_message():
    r = Reassembler(max_age_s=60)
    r.add(_part("start ", 1, 3), 0.0, 4)
    r.add(_part(" end", 3, 3), 10.0, 5)
    assert r.expire(59.0) == []
    (msg,) = r.expire(61.0)
    assert (msg.text, msg.complete, msg.tokens) == ("start … end", False, (4, 5))


def test_at_most_max_pending_messages_wait():
    r = Reassembler(max_pending=3)
    out = []
    for ref in range(10):
        out += r.add(_part("p", 1, 2, ref=ref), float(ref))
    assert len(r) == 3
    assert len(out) == 7 and not any(m.complete for m in out)


# --- fuzzing ------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_survives_submit_and_decode(text):
    try:
        parts = pdu.encode_submit("+8613800000000", text, concat_ref=3)
    except pdu.PduError:
        return
    decoded = [pdu.decode_submit(p.pdu) for p in parts]
    assert "".join(d.text for d in decoded) == text
    assert all(p.tpdu_length <= 164 for p in parts)
    for p in parts:
        assert len(bytes.fromhex(p.pdu)) - 1 == p.tpdu_length


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_pdu_error(data):
    for decode in (pdu.decode_deliver, pdu.decode_submit):
        try:
            decode(data.hex())
        except pdu.PduError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 127), max_size=200), st.integers(0, 6))
def test_septets_pack_and_unpack(septets, fill):
    assert gsm7.unpack(gsm7.pack(septets, fill), len(septets), fill) == septets
