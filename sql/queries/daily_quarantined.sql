-- Daily checks: which of the symbols are quarantined now, why and since when.
SELECT symbol, quarantined_at, quarantine_reason
FROM symbol_metadata
WHERE symbol = ANY(%(symbols)s) AND quarantined_at IS NOT NULL
ORDER BY symbol;
