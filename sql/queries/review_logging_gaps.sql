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
    SELECT run_id, symbol, horizon, MIN(created_at) AS windows_at FROM ensemble_validation_metrics
    WHERE run_id IN (SELECT run_id FROM runs) AND rollout_phase = ANY(%(phases)s) AND NOT is_baseline
    GROUP BY run_id, symbol, horizon
)
SELECT j.run_id, j.symbol, j.horizon, j.has_forecast, j.has_windows
FROM (
    SELECT run_id, symbol, horizon, m.run_id IS NOT NULL AS has_windows,
           -- One forecast per symbol, horizon and target: a later run's forecast for the same
           -- target replaces this run's row, which was written all the same.
           f.run_id IS NOT NULL OR EXISTS (
               SELECT 1 FROM forecasts g
               WHERE g.symbol = m.symbol AND g.horizon = m.horizon AND g.created_at >= m.windows_at
                 AND g.run_id <> m.run_id) AS has_forecast
    FROM f
    FULL OUTER JOIN m USING (run_id, symbol, horizon)
) AS j
-- A symbol that failed has its failure reported instead (review_failures).
WHERE NOT EXISTS (
    SELECT 1 FROM forecast_failures x
    WHERE x.run_id = j.run_id AND x.symbol = j.symbol AND x.horizon = j.horizon)
ORDER BY j.run_id, j.symbol, j.horizon;
