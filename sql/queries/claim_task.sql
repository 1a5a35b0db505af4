-- Claim a symbol-horizon of a run for this process (see migration 20261204_22_forecast_tasks).
SELECT claim, state, attempt, first_claim
FROM claim_forecast_task(%(run_id)s, %(symbol)s, %(horizon)s, %(attempt)s, %(claimer)s, %(wait)s);
