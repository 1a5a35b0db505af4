-- Review: forecasts written per symbol and horizon.
SELECT symbol, horizon, COUNT(*) AS forecasts
FROM forecasts
WHERE rollout_phase = ANY(%(phases)s)
  AND created_at > %(since)s AND created_at <= %(until)s
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
