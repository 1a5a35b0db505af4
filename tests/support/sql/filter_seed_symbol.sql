-- Test data for the filter tests: a symbol's rollout membership with its listing, retirement and last update.
INSERT INTO symbol_metadata (symbol, is_canary, rollout_phase, listed_at, retired_at, updated_at)
VALUES (%(symbol)s, %(rollout_phase)s = 'canary', %(rollout_phase)s, %(listed_at)s, %(retired_at)s, %(updated_at)s);
