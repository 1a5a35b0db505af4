-- Forecast generation per day and horizon over the last %(days)s days: forecasts written, pipeline
-- failures (code raised) and data incidents (input refused, quarantined symbols included).
SELECT day, horizon, SUM(written)::int AS written, SUM(failed)::int AS failed, SUM(refused)::int AS refused
FROM (
    SELECT created_at::date AS day, horizon, 1 AS written, 0 AS failed, 0 AS refused
    FROM forecasts WHERE created_at > NOW() - make_interval(days => %(days)s)
    UNION ALL
    SELECT created_at::date, horizon, 0, CASE WHEN failure_class = 'pipeline' THEN 1 ELSE 0 END,
           CASE WHEN failure_class = 'data' THEN 1 ELSE 0 END
    FROM forecast_failures WHERE created_at > NOW() - make_interval(days => %(days)s)
) AS events
GROUP BY day, horizon
ORDER BY day, horizon;
