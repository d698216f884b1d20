"""Which messages may expire at the broker (MQTT 5 Message Expiry Interval), and for how long.

A broker keeps a QoS 1 message for a subscriber with a persistent session until
that subscriber is back, and a retained message until it is replaced. For a
fleet that is a pile of stale telemetry: a platform worker that was away an
hour would first receive an hour of health reports from every hub. Telemetry
therefore carries an expiry (docs/mqtt.md, "Message expiry"):

- ``health``: superseded by the next one every ``health_interval_s``;
- retained device ``availability``: refreshed by the hub at half its expiry
  (``RetainedRefresh``), so it never vanishes while the hub is alive and is gone
  a day after the hub is;
- notices: ``wellbeing`` and ``info`` messages on the alert topic, which the
  alert rules publish once and never wait for (they are stored as ``closed``,
  or are a fall the wearer cancelled); a test alarm waits for its
  acknowledgement and never expires.

Never on anything safety-relevant: an alert that waits for an acknowledgement,
the hub's ``status`` (its last will says the hub is gone), responses, the daily
vitals summary, ``power``. A payload that cannot be read is treated as an alert.
MQTT 3.1.1 has no expiry: nothing expires there.
"""

from __future__ import annotations

import json

from gateway.config.schema import PlatformConfig
from gateway.topics import Topics

NOTICE_SEVERITIES = frozenset({"wellbeing", "info"})


def is_availability(topics: Topics, topic: str) -> bool:
    prefix = f"{topics.root}/device/"
    return topic.startswith(prefix) and topic.endswith("/availability")


def is_notice(payload: bytes) -> bool:
    """A message published once that needs no acknowledgement (gateway/alerts/rules.py: only
    emergency, urgent and technical alerts, tests and call requests wait for one)."""
    try:
        msg = json.loads(payload)
    except ValueError:
        return False
    return (isinstance(msg, dict) and msg.get("test") is False and msg.get("type") != "call_request"
            and msg.get("severity") in NOTICE_SEVERITIES)


def expiry_s(cfg: PlatformConfig, topics: Topics, topic: str, payload: bytes) -> int:
    """The Message Expiry Interval for this message, in whole seconds; 0: it never expires."""
    if cfg.protocol != "5":
        return 0
    if topic == topics.health:
        seconds = cfg.health_expiry_s
    elif is_availability(topics, topic):
        seconds = cfg.availability_expiry_s
    elif topic == topics.alert and is_notice(payload):
        seconds = cfg.notice_expiry_s
    else:
        return 0
    return max(0, round(seconds))


class RetainedRefresh:
    """Retained state published with an expiry, republished at half of it so it outlives no hub."""

    def __init__(self) -> None:
        self._latest: dict[str, tuple[bytes, int, float]] = {}  # topic -> (payload, expiry, sent at)

    def sent(self, topic: str, payload: bytes, expiry: int, now: float) -> None:
        if expiry > 0:
            self._latest[topic] = (payload, expiry, now)
        else:
            self._latest.pop(topic, None)

    def due(self, now: float) -> list[tuple[str, bytes]]:
        """What must be published again now (at least half its expiry old)."""
        return [(topic, payload) for topic, (payload, expiry, at) in self._latest.items()
                if now - at >= expiry / 2]

    def next_due_in(self, now: float, default: float) -> float:
        waits = [at + expiry / 2 - now for _, expiry, at in self._latest.values()]
        return max(1.0, min([*waits, default]))  # looked at again at least every ``default``
