-- Promotion gate: the runs a phase has written itself (its own rollout_phase) up to a time; with an
-- image (not NULL), only its runs of that image (forecast_runs.image_ref, recorded by each run's
-- first attempt: migration 20261205_23_run_images). A run whose image is unknown counts for none.
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
) AS own_rows
WHERE (%(image_ref)s::text IS NULL
       OR run_id IN (SELECT run_id FROM forecast_runs WHERE image_ref = %(image_ref)s::text));
