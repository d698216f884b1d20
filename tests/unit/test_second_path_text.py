"""The second path's SMS texts and the replies it understands (gateway/paths/sms_text.py)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from gateway.paths.sms_text import AlertFacts, alert_text, confirmation_text, parse_reply, same_number, short_id

FACTS = AlertFacts("3FA2", "help_call", "emergency", 0, "bedroom", "sos-bed", "12-02 07:31", "王阿姨家")


def test_an_alert_sms_names_the_id_kind_room_device_time_and_level_in_chinese():
    text = alert_text(FACTS, "zh")
    assert text == ("【紧急】王阿姨家：紧急求助，卧室（sos-bed），12-02 07:31，第0级。"
                    "警报 3FA2，请回复“收到 3FA2”确认。")


def test_an_alert_sms_in_english():
    text = alert_text(AlertFacts("3FA2", "fall", "urgent", 2, "bathroom", None, "12-02 07:31", "flat-3b"), "en")
    assert text == ("URGENT flat-3b: fall, bathroom, 12-02 07:31, level 2. "
                    "Alert 3FA2: reply OK 3FA2 to acknowledge.")


def test_an_unknown_kind_or_room_is_named_as_it_is():
    text = alert_text(AlertFacts("ABCD", "new_kind", "urgent", 0, "attic", "x1", "01-01 00:00", "s"), "zh")
    assert "new_kind" in text and "attic" in text


def test_confirmation_names_the_alert():
    assert "3FA2" in confirmation_text("3FA2", "help_call", "zh")
    assert "help call" in confirmation_text("3FA2", "help_call", "en")


def test_replies_are_read_whatever_the_case_width_and_spacing():
    for text in ("OK 3FA2", "ok 3fa2", "Ok3FA2", "  OK   3fa2  thanks", "OK:3FA2", "OK #3FA2", "ＯＫ　３ＦＡ２",
                 "收到 3FA2", "收到3fa2", "收到，3FA2", "收到：３ｆａ２", "收到了 3FA2", "ok, 3fa2!"):
        reply = parse_reply(text)
        assert reply is not None and reply.token == "3FA2", text


def test_anything_else_is_not_a_reply():
    for text in ("", "OK", "OKAY 3FA2", "not OK 3FA2", "3FA2 OK", "收到", "OK 3F", "好的", "OK 3FA2X9Y8Z7W6Q"):
        assert parse_reply(text) is None, text


def test_numbers_match_in_international_and_national_form():
    assert same_number("+8613800138000", "8613800138000")
    assert same_number("+8613800138000", "008613800138000")
    assert same_number("+8613800138000", "13800138000")
    assert not same_number("+8613800138000", "+8613800138001")
    assert not same_number("+8613800138000", "38000")
    assert not same_number("", "")


@given(st.lists(st.uuids(), min_size=1, max_size=60, unique=True))
def test_short_ids_are_unique_among_the_alerts_they_could_be_confused_with(ids):
    ids = [str(u) for u in ids]
    shorts = {a: short_id(a, ids) for a in ids}
    for a, s in shorts.items():
        assert 4 <= len(s) <= 8
        assert a.replace("-", "").upper().startswith(s)
        rivals = [b for b in ids if b != a and b.replace("-", "").upper().startswith(s)]
        assert not rivals or len(s) == 8


@given(st.uuids())
def test_a_short_id_read_back_from_a_reply_is_the_one_sent(u):
    sid = short_id(str(u), [str(uuid.uuid4()) for _ in range(5)])
    reply = parse_reply(f"收到 {sid.lower()}")
    assert reply is not None and reply.token == sid


@given(st.text(max_size=200))
def test_any_text_is_a_reply_or_none_never_an_error(text):
    reply = parse_reply(text)
    assert reply is None or (reply.word in ("OK", "收到") and 3 <= len(reply.token) <= 12)
