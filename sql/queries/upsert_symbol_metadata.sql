-- Keep rollout membership in step with the stack's symbols. A listed symbol is active: a retired
-- one listed again loses retired_at and starts a new listing (listed_at) from now.
INSERT INTO symbol_metadata (symbol, is_canary, rollout_phase, updated_at, listed_at)
VALUES (%(symbol)s, %(is_canary)s, %(rollout_phase)s, NOW(), NOW())
ON CONFLICT (symbol) DO UPDATE
SET is_canary = EXCLUDED.is_canary, rollout_phase = EXCLUDED.rollout_phase, updated_at = NOW(),
    listed_at = CASE WHEN symbol_metadata.retired_at IS NULL THEN symbol_metadata.listed_at ELSE NOW() END,
    retired_at = NULL
WHERE symbol_metadata.is_canary IS DISTINCT FROM EXCLUDED.is_canary
   OR symbol_metadata.rollout_phase IS DISTINCT FROM EXCLUDED.rollout_phase
   OR symbol_metadata.retired_at IS NOT NULL;
