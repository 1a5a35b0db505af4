-- Symbol health and window quality per symbol and horizon over the last %(days)s days; failures by
-- class (pipeline: code raised; data incidents: input refused) and whether the symbol is quarantined.
WITH win AS (
    SELECT symbol, horizon,
           COUNT(*)                                   AS windows,
           AVG(divergence)                            AS avg_divergence,
           MAX(divergence)                            AS max_divergence,
           COUNT(*) FILTER (WHERE is_overfitting)     AS overfitting_windows,
           COUNT(*) FILTER (WHERE divergence > %(critical)s) AS critical_windows,
           AVG(rmse_ratio)                            AS avg_rmse_ratio,
           SUM(model_errors)                          AS model_errors,
           MAX(created_at)                            AS last_window_at
    FROM ensemble_validation_metrics
    WHERE NOT is_baseline
      AND created_at > NOW() - make_interval(days => %(days)s)
    GROUP BY symbol, horizon
), fc AS (
    SELECT symbol, horizon, COUNT(*) AS forecasts, MAX(created_at) AS last_forecast_at
    FROM forecasts
    WHERE created_at > NOW() - make_interval(days => %(days)s)
    GROUP BY symbol, horizon
), failed AS (
    -- Pipeline failures (code raised) apart from data incidents (input refused; quarantined aside).
    SELECT symbol, horizon,
           COUNT(*) FILTER (WHERE failure_class = 'pipeline')                                        AS failures,
           COUNT(*) FILTER (WHERE failure_class = 'data' AND cause IS DISTINCT FROM 'quarantined') AS data_incidents
    FROM forecast_failures
    WHERE created_at > NOW() - make_interval(days => %(days)s)
    GROUP BY symbol, horizon
)
SELECT k.symbol, k.horizon,
       COALESCE(win.windows, 0)             AS windows,
       win.avg_divergence, win.max_divergence,
       COALESCE(win.overfitting_windows, 0) AS overfitting_windows,
       COALESCE(win.critical_windows, 0)    AS critical_windows,
       win.avg_rmse_ratio,
       COALESCE(win.model_errors, 0)        AS model_errors,
       COALESCE(fc.forecasts, 0)            AS forecasts,
       COALESCE(failed.failures, 0)         AS failures,
       COALESCE(failed.data_incidents, 0)   AS data_incidents,
       m.quarantined_at IS NOT NULL         AS quarantined,
       fc.last_forecast_at
FROM (SELECT symbol, horizon FROM win UNION SELECT symbol, horizon FROM fc
      UNION SELECT symbol, horizon FROM failed) AS k
LEFT JOIN win    USING (symbol, horizon)
LEFT JOIN fc     USING (symbol, horizon)
LEFT JOIN failed USING (symbol, horizon)
LEFT JOIN symbol_metadata m ON m.symbol = k.symbol
ORDER BY k.symbol, k.horizon;
