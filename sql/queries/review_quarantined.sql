-- Review: the phase's listed symbols quarantined now (repeated data incidents), why and since when.
SELECT symbol, quarantined_at, quarantine_reason, data_incident_streak
FROM symbol_metadata
WHERE rollout_phase = ANY(%(phases)s) AND quarantined_at IS NOT NULL AND retired_at IS NULL
ORDER BY symbol;
