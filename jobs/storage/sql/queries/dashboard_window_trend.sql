-- Divergence trends: mean validation vs test RMSE and divergence per walk-forward test period.
-- Production ensemble rows only (baseline rows have is_baseline); rows written in the last %(days)s days.
SELECT horizon,
       test_start::date                     AS period,
       COUNT(*)                             AS windows,
       AVG(val_rmse)                        AS avg_val_rmse,
       AVG(test_rmse)                       AS avg_test_rmse,
       AVG(divergence)                      AS avg_divergence,
       MAX(divergence)                      AS max_divergence,
       -- Interval calibration (test slice; NULL before it was recorded), for a coverage chart.
       AVG(interval_coverage)               AS avg_coverage
FROM ensemble_validation_metrics
WHERE NOT is_baseline
  AND created_at > NOW() - make_interval(days => %(days)s)
GROUP BY horizon, test_start::date
ORDER BY horizon, period;
