-- Test data for the filter tests: a listed symbol's streak of data incidents and its quarantine (NULL: none).
UPDATE symbol_metadata
SET data_incident_streak = %(streak)s, last_incident_on = %(last_incident_on)s, quarantined_at = %(quarantined_at)s,
    quarantine_reason = CASE WHEN %(quarantined_at)s::timestamptz IS NULL THEN NULL ELSE 'seeded' END
WHERE symbol = %(symbol)s;
