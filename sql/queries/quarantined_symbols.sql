-- The given symbols that are quarantined now, with why and since when.
SELECT symbol, quarantined_at, quarantine_reason, data_incident_streak
FROM symbol_metadata
WHERE symbol = ANY(%(symbols)s) AND quarantined_at IS NOT NULL
ORDER BY symbol;
