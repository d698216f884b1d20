"""Alert policy: findings become alerts, held, folded, escalated, closed."""

from gateway.alerts.policy import AlertPolicy
from gateway.alerts.states import AlertEvent, AlertState, IllegalTransition

__all__ = ["AlertEvent", "AlertPolicy", "AlertState", "IllegalTransition"]
