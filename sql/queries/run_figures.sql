-- Per run, symbol and horizon: the figures the job publishes to CloudWatch for that run
-- (jobs.monitoring.publisher.outcome_values, names in jobs.contract.metrics), so the dashboard
-- and the review chart what the alarms watch, against the run's time (its first window row,
-- over all its symbols, so that one run is one point in time on every symbol's line).
-- Production ensemble rows only; non-finite divergences are left out, as the publisher leaves
-- them out of CloudWatch. %(phases)s NULL means every phase.
WITH win AS (
    SELECT run_id, symbol, horizon,
           MIN(created_at)                                   AS run_at,
           COUNT(*)                                          AS windows_evaluated,
           AVG(divergence) FILTER (WHERE divergence > '-Infinity'::float8
                                     AND divergence < 'Infinity'::float8) AS symbol_average_divergence,
           MAX(divergence) FILTER (WHERE divergence > '-Infinity'::float8
                                     AND divergence < 'Infinity'::float8) AS max_divergence,
           AVG(val_rmse)                                     AS validation_rmse,
           AVG(test_rmse)                                    AS test_rmse,
           AVG(rmse_ratio)                                   AS raw_rmse_ratio,
           COUNT(*) FILTER (WHERE is_overfitting)            AS overfitting_windows,
           SUM(model_errors)                                 AS model_errors,
           AVG(interval_coverage)                            AS interval_coverage
    FROM ensemble_validation_metrics
    WHERE NOT is_baseline
      AND created_at > %(since)s AND created_at <= %(until)s
      AND (%(phases)s::text[] IS NULL OR rollout_phase = ANY(%(phases)s::text[]))
    GROUP BY run_id, symbol, horizon
), paired AS (
    -- RMSEVsBaseline: mean test RMSE over the windows both ran, over the baseline's, minus 1.
    SELECT run_id, symbol, horizon,
           AVG(test_rmse) / NULLIF(AVG(baseline_test_rmse), 0) - 1 AS rmse_vs_baseline
    FROM paired_baseline_windows
    WHERE created_at > %(since)s AND created_at <= %(until)s
      AND (%(phases)s::text[] IS NULL OR rollout_phase = ANY(%(phases)s::text[]))
    GROUP BY run_id, symbol, horizon
)
SELECT win.run_id, win.symbol, win.horizon,
       MIN(win.run_at) OVER (PARTITION BY win.run_id) AS run_at, win.windows_evaluated,
       win.symbol_average_divergence, win.max_divergence, win.validation_rmse, win.test_rmse,
       win.raw_rmse_ratio, win.overfitting_windows, win.model_errors, paired.rmse_vs_baseline,
       win.interval_coverage
FROM win
LEFT JOIN paired USING (run_id, symbol, horizon)
ORDER BY run_at, win.symbol, win.horizon;
