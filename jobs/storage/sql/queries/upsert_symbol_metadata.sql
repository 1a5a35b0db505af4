-- Keep rollout membership in step with the stack's symbols.
INSERT INTO symbol_metadata (symbol, is_canary, rollout_phase, updated_at)
VALUES (%(symbol)s, %(is_canary)s, %(rollout_phase)s, NOW())
ON CONFLICT (symbol) DO UPDATE
SET is_canary = EXCLUDED.is_canary, rollout_phase = EXCLUDED.rollout_phase, updated_at = NOW()
WHERE symbol_metadata.is_canary IS DISTINCT FROM EXCLUDED.is_canary
   OR symbol_metadata.rollout_phase IS DISTINCT FROM EXCLUDED.rollout_phase;
