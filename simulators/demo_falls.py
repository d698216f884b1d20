"""The demo's pendant: a real recorded fall replayed twice; the first is an emergency, the wearer cancels the second."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from detection.events import ButtonAction
from simulators.platform import PlatformEmulator
from simulators.wearable import VirtualWearable, WearableEmulator, synthetic_fall


class HubLog(Protocol):
    events: list[dict[str, Any]]

    def wait(self, name: str, timeout: float, where: Callable[[dict[str, Any]], bool] = ...) -> bool: ...


PENDANT = "C0:FF:EE:00:00:01"
FALL_TRIAL = "F01_SA05_R01"  # SisFall: a forward fall while walking, caused by a slip
SHARED_TRIALS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sisfall-young-50hz.npz"


def fall_recording() -> tuple[np.ndarray, str]:
    """A real fall from ../shared/data when it is there, else a synthetic one."""
    if SHARED_TRIALS.exists():
        d = np.load(SHARED_TRIALS)
        trials = [str(t) for t in d["trial"]]
        if FALL_TRIAL in trials:
            i = trials.index(FALL_TRIAL)
            return d["acc"][d["offsets"][i]:d["offsets"][i + 1]] / 1000.0, f"real SisFall trial {FALL_TRIAL}"
    return synthetic_fall(np.random.default_rng(4)), "a synthetic fall (../shared/data is absent)"


def self_check_fall(hub: HubLog, platform: PlatformEmulator, pendant: VirtualWearable,
                    wearables: WearableEmulator, out: Callable[[str], None]) -> bool:
    """The pendant replays a fall twice: the first becomes an emergency, the wearer cancels the second."""
    if not hub.wait("ble.connected", 20):
        out("FAILED: the hub did not connect to the pendant")
        return False
    samples, what = fall_recording()
    out(f"pendant: replaying {what} over the carehub BLE profile")
    pendant.play(samples)
    if not platform.wait_for(lambda p: bool(p.alerts_of("fall", "open")), timeout=60):
        out("FAILED: the fall did not reach the platform")
        return False
    out("pendant: replaying the same fall again; this time she presses 'I am fine'")
    pendant.play(samples)
    if not hub.wait("alert.cancel_window", 40, where=lambda e: len([1 for x in hub.events
                                                                  if x.get("event") == "alert.cancel_window"]) >= 2):
        out("FAILED: the second fall was not detected")
        return False
    wearables.press(PENDANT, ButtonAction.CANCEL)
    if not platform.wait_for(lambda p: bool(p.alerts_of("fall", "cancelled")), timeout=15):
        out("FAILED: the cancellation did not reach the platform")
        return False
    time.sleep(1.0)
    emergencies = len(platform.alerts_of("fall", "open"))
    out(f"falls: 1 raised as an emergency, 1 cancelled by the wearer and reported at low priority "
        f"({emergencies} fall emergency at the platform)")
    return emergencies == 1


