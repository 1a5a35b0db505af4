-- Filter tests: every symbol's membership, and whether this transaction updated it (updated_at is its start).
SELECT symbol, rollout_phase, retired_at IS NOT NULL AS retired, updated_at = NOW() AS touched
FROM symbol_metadata ORDER BY symbol;
