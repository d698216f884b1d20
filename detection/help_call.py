"""A help-button press is an emergency, at once: no cancel window, no learning."""

from __future__ import annotations

from typing import Any

from detection.events import ButtonAction, ButtonPress, Finding, FindingState, Observation, Severity


class HelpCallDetector:
    name = "help_call"

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, ButtonPress):
            return []
        if obs.action is ButtonAction.CANCEL:
            # "I am fine": cancels this wearer's pending fall, if there is one (the policy knows).
            return [Finding(type="fall", severity=Severity.EMERGENCY, at=obs.at, key=f"fall:{obs.device}",
                            state=FindingState.CANCELLED, device=obs.device, evidence={"reason": "button"})]
        return [
            Finding(
                type="help_call",
                severity=Severity.EMERGENCY,
                at=obs.at,
                key=f"help:{obs.device}",
                device=obs.device,
                room=obs.room,
                evidence={"button": obs.device},
            )
        ]

    def snapshot(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        pass
