-- Filter tests: every forecast row, and whether this transaction rewrote it (created_at is its start).
SELECT run_id, symbol, horizon, created_at = NOW() AS rewritten FROM forecasts ORDER BY run_id, symbol, horizon;
