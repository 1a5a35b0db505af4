-- On the job's start in a stack: the phase's symbols the stack no longer lists are retired, with
-- the time. Already retired ones keep their date. Returns the newly retired symbols.
UPDATE symbol_metadata
SET retired_at = NOW(), updated_at = NOW()
WHERE rollout_phase = %(rollout_phase)s
  AND retired_at IS NULL
  AND NOT (symbol = ANY(%(symbols)s))
RETURNING symbol;
