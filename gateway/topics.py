"""The MQTT topic tree (docs/mqtt.md; docs/asyncapi.yaml describes the same)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    root: str  # "<base_topic>/<site_id>"

    @classmethod
    def for_site(cls, base_topic: str, site_id: str) -> Topics:
        return cls(f"{base_topic.rstrip('/')}/{site_id}")

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def alert(self) -> str:
        return f"{self.root}/alert"

    @property
    def alert_ack_filter(self) -> str:
        return f"{self.root}/alert/+/ack"

    def alert_ack(self, alert_id: str) -> str:
        return f"{self.root}/alert/{alert_id}/ack"

    @property
    def call_request(self) -> str:
        """A button's request for a service (call back, meals...): not an alert (docs/mqtt.md)."""
        return f"{self.root}/call_request"

    @property
    def call_request_ack_filter(self) -> str:
        return f"{self.root}/call_request/+/ack"

    def call_request_ack(self, request_id: str) -> str:
        return f"{self.root}/call_request/{request_id}/ack"

    @property
    def health(self) -> str:
        return f"{self.root}/health"

    @property
    def vitals_summary(self) -> str:
        return f"{self.root}/vitals/summary"

    @property
    def power(self) -> str:
        return f"{self.root}/power"

    def availability(self, device: str) -> str:
        return f"{self.root}/device/{device}/availability"

    @property
    def request_filter(self) -> str:
        return f"{self.root}/request/+"

    def response(self, command: str) -> str:
        return f"{self.root}/response/{command}"

    def parse_ack(self, topic: str) -> str | None:
        """The alert (or call request) id of an ack topic, or None when the topic is not one."""
        for prefix in (f"{self.root}/alert/", f"{self.root}/call_request/"):
            if topic.startswith(prefix) and topic.endswith("/ack"):
                alert_id = topic[len(prefix) : -len("/ack")]
                if alert_id and "/" not in alert_id:
                    return alert_id
        return None

    def parse_request(self, topic: str) -> str | None:
        prefix = f"{self.root}/request/"
        if topic.startswith(prefix):
            cmd = topic[len(prefix) :]
            if cmd and "/" not in cmd:
                return cmd
        return None
