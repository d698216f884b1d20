"""What the modem driver hands to the hub: its status, a received SMS, and why a send failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SIM_STATES = ("ready", "pin_required", "absent", "unknown")
REGISTRATIONS = ("home", "roaming", "searching", "denied", "not_registered", "unknown")


@dataclass(frozen=True)
class ModemStatus:
    sim: str            # "ready" | "pin_required" | "absent" | "unknown"
    registration: str   # "home" | "roaming" | "searching" | "denied" | "not_registered" | "unknown"
    signal_dbm: int | None
    csq: int | None
    operator: str | None
    connected: bool     # the serial port is open and the modem answers AT
    checked_at: float   # time.monotonic() of the last successful poll

    @property
    def registered(self) -> bool:
        return self.registration in ("home", "roaming")


UNKNOWN_STATUS = ModemStatus("unknown", "unknown", None, None, None, False, 0.0)


@dataclass(frozen=True)
class IncomingSms:
    sender: str
    text: str
    sent_at: dt.datetime | None   # the service centre's timestamp (aware)
    # False when parts of a concatenated SMS never came and their time ran out: ``text`` is what
    # came, with "…" where parts are missing (never silently dropped, never mistaken for whole).
    complete: bool = True


class ModemError(Exception):
    """``reason``: "timeout" | "cms_error:<n>" | "cme_error:<n>" | "error" | "not_registered" | "no_sim"
    | "closed" | "invalid" (a number or text that cannot be sent). ``sent_parts`` holds the message
    references of the parts of a long SMS that did go out before the failure."""

    def __init__(self, reason: str, detail: str = "", *, sent_parts: list[int] | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.sent_parts: list[int] = list(sent_parts or [])


__all__ = ["REGISTRATIONS", "SIM_STATES", "UNKNOWN_STATUS", "IncomingSms", "ModemError", "ModemStatus"]
