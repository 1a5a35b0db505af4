-- Review: symbols that failed in a run (an uncaught error in the forecast pipeline).
-- forecast_failures has no phase column; the job records every symbol's phase in symbol_metadata first.
SELECT run_id, symbol, horizon, reason, created_at
FROM forecast_failures
WHERE created_at > %(since)s AND created_at <= %(until)s
  AND symbol IN (SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s))
ORDER BY created_at, symbol, horizon;
