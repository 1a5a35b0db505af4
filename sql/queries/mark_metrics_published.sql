-- Resume: a symbol-horizon's metrics are published; a retry of this run skips it from now on.
WITH forecast AS (
    UPDATE forecasts SET metrics_published_at = NOW()
    WHERE run_id = %(run_id)s AND symbol = %(symbol)s AND horizon = %(horizon)s
    RETURNING 1
)
UPDATE forecast_failures SET metrics_published_at = NOW()
WHERE run_id = %(run_id)s AND symbol = %(symbol)s AND horizon = %(horizon)s;
