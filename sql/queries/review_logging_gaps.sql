-- Review: every (run, symbol, horizon) of the phase, with whether it has a forecast and window rows.
-- Runs are picked by the window, then compared whole, so a run straddling the window edge is not a gap.
WITH runs AS (
    SELECT run_id FROM forecasts
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
    UNION
    SELECT run_id FROM ensemble_validation_metrics
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
),
f AS (
    SELECT run_id, symbol, horizon FROM forecasts
    WHERE run_id IN (SELECT run_id FROM runs) AND rollout_phase = ANY(%(phases)s)
),
m AS (
    SELECT DISTINCT run_id, symbol, horizon FROM ensemble_validation_metrics
    WHERE run_id IN (SELECT run_id FROM runs) AND rollout_phase = ANY(%(phases)s) AND NOT is_baseline
)
SELECT j.run_id, j.symbol, j.horizon, j.has_forecast, j.has_windows
FROM (
    SELECT run_id, symbol, horizon, f.run_id IS NOT NULL AS has_forecast, m.run_id IS NOT NULL AS has_windows
    FROM f
    FULL OUTER JOIN m USING (run_id, symbol, horizon)
) AS j
-- A symbol that failed has its failure reported instead (review_failures).
WHERE NOT EXISTS (
    SELECT 1 FROM forecast_failures x
    WHERE x.run_id = j.run_id AND x.symbol = j.symbol AND x.horizon = j.horizon)
ORDER BY j.run_id, j.symbol, j.horizon;
