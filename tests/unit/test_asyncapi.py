"""docs/asyncapi.yaml names the same topic tree as gateway/topics.py."""

from __future__ import annotations

import re

from gateway.topics import Topics
from tests.conftest import REPO


def test_every_topic_the_code_uses_is_documented():
    doc = (REPO / "docs" / "asyncapi.yaml").read_text()
    addresses = set(re.findall(r"address: (\S+)", doc))
    t = Topics.for_site("carehub/v1", "{site}")
    code = {t.status, t.alert, t.alert_ack("{alertId}"), t.call_request, t.call_request_ack("{requestId}"),
            t.health, t.availability("{deviceId}"), t.vitals_summary,
            t.request_filter.replace("+", "{command}"), t.response("{command}"), t.power}
    assert code == addresses
    mqtt_md = (REPO / "docs" / "mqtt.md").read_text()
    for suffix in ("/status", "/alert", "/alert/<id>/ack", "/call_request", "/call_request/<id>/ack",
                   "/health", "/device/<device-id>/availability",
                   "/vitals/summary", "/request/<command>", "/response/<command>", "/power"):
        assert f"`…{suffix}`" in mqtt_md


def test_topic_parsing_rejects_foreign_topics():
    t = Topics.for_site("carehub/v1", "s")
    assert t.parse_ack("carehub/v1/s/alert/abc/ack") == "abc"
    assert t.parse_ack("carehub/v1/s/alert/a/b/ack") is None
    assert t.parse_ack("carehub/v1/other/alert/abc/ack") is None
    assert t.parse_request("carehub/v1/s/request/ping") == "ping"
    assert t.parse_request("carehub/v1/s/request/") is None
