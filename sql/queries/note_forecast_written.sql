-- A symbol forecast again: its streak of data incidents ends, and a quarantined symbol rejoins.
-- Returns one row when something changed; rejoined says the symbol was quarantined until now.
WITH old AS (
    SELECT symbol, quarantined_at FROM symbol_metadata WHERE symbol = %(symbol)s
)
UPDATE symbol_metadata AS m
SET data_incident_streak = 0, quarantined_at = NULL, quarantine_reason = NULL, updated_at = NOW()
FROM old
WHERE m.symbol = old.symbol AND (m.data_incident_streak <> 0 OR m.quarantined_at IS NOT NULL)
RETURNING old.quarantined_at IS NOT NULL AS rejoined;
