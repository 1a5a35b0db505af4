-- Re-admit a symbol by hand (python -m jobs.bars readmit): quarantine lifted, streak of data incidents
-- reset; its next run fits it in full (and records a data incident again if its bars still fail).
UPDATE symbol_metadata
SET quarantined_at = NULL, quarantine_reason = NULL, data_incident_streak = 0, updated_at = NOW()
WHERE symbol = %(symbol)s
RETURNING symbol;
