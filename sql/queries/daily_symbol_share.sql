-- Daily checks 5: limited's "divergence below the warning (20 percent) for 95 percent of symbols"
-- over the bound window. The average divergence per bound symbol and horizon, over the rows of the
-- bound phases only (limited's review reads canary's and limited's rows), paired baseline rows left
-- out; jobs.rollout.checks.symbol_share judges it as the review does: a symbol passes when each of
-- its horizons averages below the warning threshold.
SELECT
    symbol,
    horizon,
    COUNT(*) AS windows,
    AVG(divergence) AS avg_div
FROM ensemble_validation_metrics
WHERE symbol = ANY(%(symbols)s)
  AND rollout_phase = ANY(%(phases)s)
  AND NOT is_baseline
  AND created_at > NOW() - %(window)s::interval
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
