-- Forecast generation per day and horizon: forecasts written and symbol failures, last %(days)s days.
SELECT day, horizon, SUM(written)::int AS written, SUM(failed)::int AS failed
FROM (
    SELECT created_at::date AS day, horizon, 1 AS written, 0 AS failed
    FROM forecasts WHERE created_at > NOW() - make_interval(days => %(days)s)
    UNION ALL
    SELECT created_at::date, horizon, 0, 1
    FROM forecast_failures WHERE created_at > NOW() - make_interval(days => %(days)s)
) AS events
GROUP BY day, horizon
ORDER BY day, horizon;
