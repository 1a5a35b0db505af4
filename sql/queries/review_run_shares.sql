-- Review: per run, the phase's symbols it ran (a forecast or a recorded failure) and those whose
-- input it refused (data incidents). Quarantined symbols are left out of both: known, and no task.
WITH phase_symbols AS (
    SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s)
),
task_rows AS (
    SELECT run_id, symbol, NULL::text AS failure_class, NULL::text AS cause, created_at
    FROM forecasts
    WHERE rollout_phase = ANY(%(phases)s) AND created_at > %(since)s AND created_at <= %(until)s
    UNION ALL
    SELECT run_id, symbol, failure_class, cause, created_at
    FROM forecast_failures
    WHERE symbol IN (SELECT symbol FROM phase_symbols) AND created_at > %(since)s AND created_at <= %(until)s
),
per_symbol AS (
    SELECT run_id, symbol, MIN(created_at) AS at,
           COALESCE(bool_or(failure_class = 'data' AND cause IS DISTINCT FROM 'quarantined'), FALSE) AS refused,
           COALESCE(bool_or(cause = 'quarantined'), FALSE) AS quarantined
    FROM task_rows
    GROUP BY run_id, symbol
)
SELECT run_id, MIN(at) AS run_at,
       COUNT(*) FILTER (WHERE NOT quarantined) AS symbols,
       COALESCE(array_agg(symbol ORDER BY symbol) FILTER (WHERE refused AND NOT quarantined), '{}') AS refused
FROM per_symbol
GROUP BY run_id
ORDER BY run_at, run_id;
