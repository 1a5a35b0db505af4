-- Promotion gate: the runs a phase has written itself (its own rollout_phase) up to a time.
-- Forecasts and production window rows both count, so a run with a logging gap is still a run.
SELECT COUNT(DISTINCT run_id) AS runs,
       COUNT(DISTINCT (created_at AT TIME ZONE 'UTC')::date) AS run_days,
       MIN(created_at) AS first_run,
       MAX(created_at) AS last_run
FROM (
    SELECT run_id, created_at FROM forecasts
    WHERE rollout_phase = %(phase)s AND created_at <= %(until)s
    UNION ALL
    SELECT run_id, created_at FROM ensemble_validation_metrics
    WHERE rollout_phase = %(phase)s AND NOT is_baseline AND created_at <= %(until)s
) AS own_rows;
