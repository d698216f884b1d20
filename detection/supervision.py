"""Supervision: devices that go silent, batteries that run low, wearables taken off.

Each condition is raised once and cleared once when it ends, so the platform
hears "battery low" one time, not every minute the sensor repeats it.

Which conditions are raised is state that must outlive the process: an alert
left open by the previous run is closed only by this detector's CLEARED, and
"once" means once per condition, not once per run. ``snapshot()`` carries the
raised flags (never the monotonic times, which mean nothing after a reboot), and
``persist_on_finding`` asks the pipeline to save them whenever they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detection.events import DeviceStatus, Finding, FindingState, Observation, Severity, Tick

STATE_VERSION = 1
_FLAGS = ("offline", "battery_low", "not_worn")


@dataclass
class _Watch:
    offline_after_s: float
    room: str | None
    last_t: float | None = None
    offline: bool = False
    battery_low: bool = False
    not_worn: bool = False


class DeviceSupervisor:
    """``devices`` maps device id -> (offline_after_s, room); 0 disables the silence check."""

    name = "supervision"
    persist_on_finding = True  # raised/cleared flags must survive a crash, not only a clean stop

    def __init__(self, devices: dict[str, tuple[float, str | None]], wear_supervised: frozenset[str] = frozenset()
                 ) -> None:
        self._watch = {dev: _Watch(limit, room) for dev, (limit, room) in devices.items()}
        # Wearables whose "not worn" detection/worn.py raises once it has lasted (a watch off for a shower is
        # not news); here they are only cleared, for an alert an earlier version raised at once.
        self._wear_supervised = wear_supervised

    def observe(self, obs: Observation) -> list[Finding]:
        if isinstance(obs, Tick):
            return self._check_silence(obs)
        w = self._watch.get(obs.device)
        if w is None:
            return []
        out: list[Finding] = []
        w.last_t = obs.at.t
        if w.offline:
            w.offline = False
            out.append(self._finding("device_offline", obs, FindingState.CLEARED, w))
        if isinstance(obs, DeviceStatus):
            if obs.connected is False:
                # A dropped link is not yet "offline": the silence limit decides that.
                pass
            if obs.battery_low is not None and obs.battery_low != w.battery_low:
                w.battery_low = obs.battery_low
                state = FindingState.RAISED if obs.battery_low else FindingState.CLEARED
                out.append(
                    self._finding("battery_low", obs, state, w, {"battery_pct": obs.battery_pct})
                )
            if (obs.worn is not None and (not obs.worn) != w.not_worn
                    and not (obs.worn is False and obs.device in self._wear_supervised)):
                w.not_worn = not obs.worn
                state = FindingState.RAISED if w.not_worn else FindingState.CLEARED
                out.append(self._finding("not_worn", obs, state, w))
        return out

    def _check_silence(self, tick: Tick) -> list[Finding]:
        out: list[Finding] = []
        for dev, w in self._watch.items():
            if w.offline_after_s <= 0:
                continue
            if w.last_t is None:
                # Not heard since start: count silence from the first tick.
                w.last_t = tick.at.t
                continue
            silent = tick.at.t - w.last_t
            if not w.offline and silent >= w.offline_after_s:
                w.offline = True
                out.append(
                    Finding(
                        type="device_offline", severity=Severity.TECHNICAL, at=tick.at,
                        key=f"device_offline:{dev}", device=dev, room=w.room,
                        evidence={"silent_s": round(silent, 1), "limit_s": w.offline_after_s},
                    )
                )
        return out

    @staticmethod
    def _finding(
        kind: str, obs: Observation, state: FindingState, w: _Watch, evidence: dict[str, Any] | None = None
    ) -> Finding:
        return Finding(
            type=kind, severity=Severity.TECHNICAL, at=obs.at, key=f"{kind}:{obs.device}",
            state=state, device=obs.device, room=obs.room or w.room,
            evidence={k: v for k, v in (evidence or {}).items() if v is not None},
        )

    def snapshot(self) -> dict[str, Any] | None:
        raised = {
            dev: [flag for flag in _FLAGS if getattr(w, flag)]
            for dev, w in self._watch.items()
            if any(getattr(w, flag) for flag in _FLAGS)
        }
        return {"version": STATE_VERSION, "raised": raised}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            return
        raised = state.get("raised")
        if not isinstance(raised, dict):
            return
        for dev, flags in raised.items():
            w = self._watch.get(dev)
            if w is None or not isinstance(flags, list):
                continue  # a device removed from the config since: nothing left to clear
            for flag in _FLAGS:
                setattr(w, flag, flag in flags)
