"""The first connection after a boot, spread over a window by the site id (docs/fleet.md).

When a district's power comes back, thousands of hubs boot within the same few
seconds. Reconnect backoff does not help them: a hub that just booted has never
failed, so it connects at once, and so does every other. Each hub therefore
waits a delay of its own before its first connection, taken from a hash of its
site id and spread uniformly over ``platform.boot_spread_s``: the same hub
always waits the same time (an installer can predict it, a test can check it),
and a fleet's first connections arrive at ``N / window`` per second instead of
``N`` at once.

Only after a boot: a reconnect, a process restart hours after the boot, or new
broker settings never wait. And never for help: an emergency or urgent alert
waiting to leave ends the wait at once (``BootGate.skip``).

Pure: the uptime and the clock are given, so tests drive it with a fake clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# A Pi that boots from an SD card (fsck, a slow card, a first boot that grows the
# file system) can take minutes to start carehub; a start later than the window
# plus this is a restart of the service, not a boot.
BOOT_GRACE_S = 300.0
CONNECT_ALLOWANCE_S = 10.0


def connect_allowance_s(window_s: float) -> float:
    """The end of the window kept for the connection itself (TCP, a TLS handshake on a Pi, CONNACK
    from a busy broker), so that the last hub is connected within the window, not just trying."""
    return min(CONNECT_ALLOWANCE_S, 0.1 * window_s)


def spread_offset_s(site_id: str, window_s: float) -> float:
    """When in the window this site's first connection starts: uniform across sites over
    ``[0, window_s - connect_allowance_s(window_s))``."""
    if window_s <= 0:
        return 0.0
    digest = hashlib.sha256(site_id.encode("utf-8")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
    return fraction * (window_s - connect_allowance_s(window_s))


def boot_delay_s(site_id: str, window_s: float, uptime_s: float) -> float:
    """The delay before the first connection, given how long the system has been up when the uplink starts.

    0 when the window is 0 (disabled) or when the system has been up longer than
    a boot takes (``window_s + BOOT_GRACE_S``): the service restarted, the
    district did not lose power.
    """
    if window_s <= 0 or uptime_s > window_s + BOOT_GRACE_S:
        return 0.0
    return spread_offset_s(site_id, window_s)


@dataclass
class BootGate:
    """The wait before the first connection, counted from ``started`` on a monotonic clock."""

    delay_s: float
    started: float
    skipped_for: str | None = None

    def remaining_s(self, now: float) -> float:
        if self.skipped_for is not None:
            return 0.0
        return max(0.0, self.started + self.delay_s - now)

    def skip(self, reason: str) -> None:
        """An alert that must not wait (``reason`` says which): connect now."""
        if self.skipped_for is None:
            self.skipped_for = reason
