"""The hub's paho client, built from the platform settings: protocol, TLS, session, limits.

Shared by the uplink and "test connection" (gateway/probe.py).
"""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.config.schema import PlatformConfig

MAX_IN_FLIGHT = 50
MAX_REQUEST_BYTES = 64 * 1024
# Announced to an MQTT 5 broker: it must drop larger packets rather than send them,
# so a 60 MiB request never reaches the hub's memory. Room for a request plus topic.
MAX_PACKET_BYTES = MAX_REQUEST_BYTES + 4 * 1024
# How long the broker keeps the hub's session (subscriptions, queued acknowledgements)
# while the hub is away: a week covers a long power cut.
SESSION_EXPIRY_S = 7 * 86400


class UplinkSettingsError(ValueError):
    """The platform settings cannot be used to build a client (e.g. a TLS file that cannot be read)."""



def make_client(cfg: PlatformConfig, client_id: str, *, persistent: bool = False) -> mqtt.Client:
    """A paho client configured for ``cfg``: protocol, TLS, credentials, backoff.

    Raises UplinkSettingsError, naming the setting, when TLS files cannot be used.
    """
    protocol = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=None if protocol == mqtt.MQTTv5 else not persistent,
    )
    client.reconnect_delay_set(
        min_delay=max(1, round(cfg.reconnect_min_s)), max_delay=max(1, round(cfg.reconnect_max_s))
    )
    client.max_inflight_messages_set(MAX_IN_FLIGHT)
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password or None)
    if cfg.tls:
        try:
            client.tls_set(
                ca_certs=cfg.ca_file or None,
                certfile=cfg.cert_file or None,
                keyfile=cfg.key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise UplinkSettingsError(f"TLS files (platform.ca_file/cert_file/key_file): {exc}") from exc
    return client


def connect_properties(cfg: PlatformConfig) -> Properties | None:
    """MQTT 5 CONNECT properties: a persistent session and the largest packet the hub takes."""
    if cfg.protocol != "5":
        return None
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    props.MaximumPacketSize = MAX_PACKET_BYTES
    return props
