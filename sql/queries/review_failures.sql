-- Review: symbols that failed in a run, with the class (pipeline: code raised, a rollback trigger;
-- data: the input was refused, a data incident) and a data incident's cause.
-- forecast_failures has no phase column; the job records every symbol's phase in symbol_metadata first.
SELECT run_id, symbol, horizon, reason, failure_class, cause, created_at
FROM forecast_failures
WHERE created_at > %(since)s AND created_at <= %(until)s
  AND symbol IN (SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s))
ORDER BY created_at, symbol, horizon;
