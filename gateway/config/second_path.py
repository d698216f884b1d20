"""Config of the second alarm path: a cellular modem that sends alerts by SMS (docs/second-path.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gateway.config.fields import opt

if TYPE_CHECKING:
    from gateway.config.validation import FieldError

# E.164 with or without the '+', or a national number: digits only, nothing a modem could read as a command.
PHONE_PATTERN = r"^\+?[0-9]{3,20}$"
SmsLanguage = Literal["zh", "en"]
SmsRole = Literal["platform_gateway", "family", "duty"]


@dataclass(frozen=True)
class SmsRecipient:
    number: str = opt(help="Phone number, e.g. +8613800138000", pattern=PHONE_PATTERN)
    language: SmsLanguage = opt("zh", help="Language of the messages: zh (Simplified Chinese) or en")
    role: SmsRole = opt(
        "duty", help="platform_gateway: the platform's SMS gateway (also gets the periodic path test); "
        "family or duty: a person's phone"
    )
    name: str = opt("", help="Human name (shown on the page)")


@dataclass(frozen=True)
class SecondPathConfig:
    enabled: bool = opt(False, help="Send emergency and urgent alerts by SMS when the platform has not "
                        "acknowledged them in time, or the uplink is down")
    port: str = opt("/dev/serial/by-id/usb-modem-if02", help="The modem's AT command port; prefer a "
                    "/dev/serial/by-id/ path")
    baudrate: int = opt(115200, help="Serial speed of the AT port", min=1200, max=921600)
    after_s: float = opt(
        60.0, help="Send by SMS when the platform has not acknowledged an emergency or urgent alert within "
        "this time (at once when the uplink is down)", min=10, max=3600, unit="s",
    )
    recipients: list[SmsRecipient] = opt(default_factory=list, help="Who gets the SMS")
    unavailable_after_s: float = opt(
        300.0, help="Raise the technical alert second_path_unavailable when the modem has been unusable "
        "(no SIM, not registered, port gone) this long", min=5, max=86400, unit="s",
    )
    test_interval_days: float = opt(
        30.0, help="Test both paths this often (an MQTT test alarm and an SMS to the platform gateway, "
        "each acknowledged by the platform); 0: never", min=0, max=365, unit="d",
    )
    test_ack_timeout_s: float = opt(
        900.0, help="A path test not acknowledged within this time has failed", min=10, max=86400, unit="s",
    )
    status_interval_s: float = opt(60.0, help="How often the modem's SIM, registration and signal are read",
                                   min=5, max=3600, unit="s")
    send_timeout_s: float = opt(60.0, help="Longest wait for the network to accept one SMS", min=5, max=300,
                                unit="s")


def second_path_errors(cfg: SecondPathConfig) -> list[FieldError]:
    """What the schema's per-field checks cannot see: a path with nobody to send to, a number twice."""
    from gateway.config.validation import FieldError  # validation imports this module

    errors: list[FieldError] = []
    if cfg.enabled and not cfg.recipients:
        errors.append(FieldError("second_path.recipients", [], "at least one recipient when second_path is enabled"))
    seen: dict[str, int] = {}
    for i, rcpt in enumerate(cfg.recipients):
        if rcpt.number in seen:
            errors.append(FieldError(f"second_path.recipients[{i}].number", rcpt.number,
                                     f"a number not already used by second_path.recipients[{seen[rcpt.number]}]"))
        seen[rcpt.number] = i
    return errors
