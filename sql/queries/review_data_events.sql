-- Review: the real large moves kept in the phase's symbols' bars and first recorded in the window.
SELECT e.symbol, e.timeframe, e.ts, e.change, e.robust_scales, e.run_id, e.horizon, e.created_at
FROM data_events e
WHERE e.created_at > %(since)s AND e.created_at <= %(until)s
  AND e.symbol IN (SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s))
ORDER BY e.created_at, e.symbol, e.ts;
