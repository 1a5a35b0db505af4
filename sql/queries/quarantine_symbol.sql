-- Quarantine a symbol by hand (python -m jobs.bars quarantine): its tasks check its bars and fit
-- nothing until they pass. An already quarantined symbol keeps its date and gets the new reason.
UPDATE symbol_metadata
SET quarantined_at = COALESCE(quarantined_at, NOW()), quarantine_reason = %(reason)s, updated_at = NOW()
WHERE symbol = %(symbol)s
RETURNING symbol, quarantined_at;
