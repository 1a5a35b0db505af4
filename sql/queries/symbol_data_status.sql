-- The symbols with data incidents in a row or in quarantine (all of them when %(symbols)s is NULL).
SELECT symbol, rollout_phase, data_incident_streak, last_incident_on, quarantined_at, quarantine_reason
FROM symbol_metadata
WHERE (data_incident_streak > 0 OR quarantined_at IS NOT NULL)
  AND (%(symbols)s::text[] IS NULL OR symbol = ANY(%(symbols)s::text[]))
ORDER BY symbol;
