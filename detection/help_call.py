"""A help-button press is an emergency, at once: no cancel window, no learning."""

from __future__ import annotations

from typing import Any

from detection.events import ButtonAction, ButtonPress, Finding, Observation, Severity


class HelpCallDetector:
    name = "help_call"

    def observe(self, obs: Observation) -> list[Finding]:
        if not isinstance(obs, ButtonPress) or obs.action is not ButtonAction.HELP:
            return []
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
