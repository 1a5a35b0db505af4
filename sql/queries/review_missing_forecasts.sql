-- Review: symbols of the phase without a forecast on a UTC day on which the phase ran that horizon.
-- Symbols that recorded a failure that day are left out: review_failures reports them with the reason.
-- A symbol is expected only on the days it was listed in its stack: from listed_at's day, and
-- before retired_at's day (the job retires a symbol the stack no longer lists, on its start).
WITH phase_symbols AS (
    SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s)
    UNION
    SELECT symbol FROM forecasts
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
    UNION
    SELECT symbol FROM ensemble_validation_metrics
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
),
run_days AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, horizon FROM forecasts
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
    UNION
    SELECT (created_at AT TIME ZONE 'UTC')::date, horizon FROM ensemble_validation_metrics
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
    UNION
    SELECT (created_at AT TIME ZONE 'UTC')::date, horizon FROM forecast_failures
    WHERE symbol IN (SELECT symbol FROM phase_symbols) AND created_at > %(since)s AND created_at <= %(until)s
)
SELECT d.day, s.symbol, d.horizon
FROM run_days d
CROSS JOIN phase_symbols s
LEFT JOIN symbol_metadata m ON m.symbol = s.symbol
WHERE (m.retired_at IS NULL OR d.day < (m.retired_at AT TIME ZONE 'UTC')::date)
  AND (m.listed_at IS NULL OR d.day >= (m.listed_at AT TIME ZONE 'UTC')::date)
  AND NOT EXISTS (
        SELECT 1 FROM forecasts f
        WHERE f.symbol = s.symbol AND f.horizon = d.horizon
          AND (f.created_at AT TIME ZONE 'UTC')::date = d.day)
  AND NOT EXISTS (
        SELECT 1 FROM forecast_failures x
        WHERE x.symbol = s.symbol AND x.horizon = d.horizon
          AND (x.created_at AT TIME ZONE 'UTC')::date = d.day)
ORDER BY d.day, s.symbol, d.horizon;
