-- Test data for the review: a symbol's rollout membership.
INSERT INTO symbol_metadata (symbol, is_canary, rollout_phase)
VALUES (%(symbol)s, %(is_canary)s, %(rollout_phase)s)
ON CONFLICT (symbol) DO UPDATE SET is_canary = EXCLUDED.is_canary, rollout_phase = EXCLUDED.rollout_phase;
