-- A data incident of a symbol on the run's date: one more run date in its streak (a second horizon
-- on the same date counts once). QUARANTINE_AFTER_INCIDENTS run dates in a row, with no forecast
-- in between, quarantine it with the reason. Returns whether this call quarantined it.
WITH next AS (
    SELECT symbol,
           CASE WHEN last_incident_on = %(as_of)s::date THEN data_incident_streak
                ELSE data_incident_streak + 1 END AS streak,
           quarantined_at IS NULL AS free
    FROM symbol_metadata
    WHERE symbol = %(symbol)s
)
UPDATE symbol_metadata AS m
SET data_incident_streak = next.streak,
    last_incident_on = %(as_of)s::date,
    quarantined_at = CASE WHEN next.free AND next.streak >= %(quarantine_after)s THEN NOW() ELSE m.quarantined_at END,
    quarantine_reason = CASE WHEN next.free AND next.streak >= %(quarantine_after)s THEN %(reason)s
                             ELSE m.quarantine_reason END,
    updated_at = NOW()
FROM next
WHERE m.symbol = next.symbol
RETURNING next.free AND next.streak >= %(quarantine_after)s AS quarantined_now;
