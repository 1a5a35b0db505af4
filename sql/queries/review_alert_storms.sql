-- Review: alert storms, more than the bound number of critical alerts within any one hour.
-- One critical alert per run, symbol and horizon whose worst window exceeds the critical divergence.
WITH alerts AS (
    SELECT run_id, symbol, horizon, MIN(created_at) AS alerted_at
    FROM ensemble_validation_metrics
    WHERE rollout_phase = ANY(%(phases)s)
      AND NOT is_baseline
      AND divergence > %(critical)s
      AND created_at > %(since)s AND created_at <= %(until)s
    GROUP BY run_id, symbol, horizon
),
counted AS (
    -- The hour up to each alert, not clock hours: a storm across 10:59-11:01 still counts.
    SELECT alerted_at,
           COUNT(*) OVER (ORDER BY alerted_at RANGE BETWEEN INTERVAL '1 hour' PRECEDING AND CURRENT ROW) AS n,
           string_agg(symbol || ' ' || horizon, ', ') OVER (
               ORDER BY alerted_at RANGE BETWEEN INTERVAL '1 hour' PRECEDING AND CURRENT ROW) AS labels
    FROM alerts
)
SELECT alerted_at AS hour_end, n AS critical_alerts, labels
FROM counted
WHERE n > %(max_alerts)s
ORDER BY n DESC, alerted_at;
