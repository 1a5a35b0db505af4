"""The rollout document's numbers, in one place: the job, the review, the alarms and the stacks read them."""

from __future__ import annotations

# "Warning: divergence > 20% -> flagged for review" / "Critical: divergence > 30% -> immediate".
DIVERGENCE_WARNING = 0.20
DIVERGENCE_CRITICAL = 0.30
# "Max RMSE increase > 5% vs baseline -> escalate"; success metric "RMSE vs baseline within ±5%".
BASELINE_RMSE_ESCALATION = 0.05
# Canary rollback plan: "Average divergence > 25% for any symbol", "RMSE > 10% worse than baseline".
ROLLBACK_DIVERGENCE = 0.25
ROLLBACK_RMSE_INCREASE = 0.10
# "Alert Storms: > 5 critical alerts in 1 hour".
ALERT_STORM_COUNT = 5
ALERT_STORM_PERIOD_SECONDS = 3_600
# Decision point: "PROCEED: average divergence < 15%"; success metric "overfitting < 10% of windows".
PROCEED_DIVERGENCE = 0.15
OVERFITTING_SHARE = 0.10
