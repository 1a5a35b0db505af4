-- Review: alert storms, more than the bound number of critical alerts within any one storm period
-- (the bound period_seconds: ALERT_STORM_PERIOD_SECONDS, the alert-storm alarm's period).
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
    -- The period up to each alert (inclusive), not clock periods: a storm across 10:59-11:01 still counts.
    SELECT alerted_at, COUNT(*) OVER storm AS n, string_agg(symbol || ' ' || horizon, ', ') OVER storm AS labels
    FROM alerts
    WINDOW storm AS (ORDER BY alerted_at RANGE BETWEEN make_interval(secs => %(period_seconds)s) PRECEDING AND CURRENT ROW)
)
SELECT alerted_at AS hour_end, n AS critical_alerts, labels
FROM counted
WHERE n > %(max_alerts)s
ORDER BY n DESC, alerted_at;
