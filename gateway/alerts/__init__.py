"""Alert policy: findings become alerts, held, folded, escalated, closed."""

from gateway.alerts.policy import AlertPolicy

__all__ = ["AlertPolicy"]
