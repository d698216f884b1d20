"""What a Raspberry Pi says about its own health, and whether the clock is synced.

Only keys that could be read are returned, so the same code runs on a Pi and on
a development machine.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
from pathlib import Path
from typing import Any

THROTTLED = Path("/sys/devices/platform/soc/soc:firmware/get_throttled")
THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")

# Bits of the firmware's get_throttled word.
_BITS = {
    0: "under_voltage_now",
    1: "freq_capped_now",
    2: "throttled_now",
    3: "soft_temp_limit_now",
    16: "under_voltage_since_boot",
    17: "freq_capped_since_boot",
    18: "throttled_since_boot",
    19: "soft_temp_limit_since_boot",
}


def decode_throttled(word: int) -> dict[str, bool]:
    return {name: bool(word >> bit & 1) for bit, name in _BITS.items()}


def _throttled_word() -> int | None:
    try:
        return int(THROTTLED.read_text().strip(), 16)
    except (OSError, ValueError):
        pass
    if shutil.which("vcgencmd"):
        try:
            out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=2).stdout
            return int(out.strip().split("=", 1)[1], 16)
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            return None
    return None


def read_pi_health() -> dict[str, Any]:
    out: dict[str, Any] = {}
    word = _throttled_word()
    if word is not None:
        out.update(decode_throttled(word))
    try:
        out["soc_temp_c"] = round(int(THERMAL.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        pass
    return out


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>; only the leading fields are read, the rest is padding.
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_pad", ctypes.c_int * 11),
    ]


_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


def clock_synced() -> bool:
    """What systemd-timesyncd and timedatectl report: the kernel's NTP sync state (adjtimex)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return True  # cannot tell: do not flag every report as unsynced
    if state < 0:
        return True
    return state != _TIME_ERROR and not (tx.status & _STA_UNSYNC)
