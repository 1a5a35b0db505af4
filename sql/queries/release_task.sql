-- The claiming session lets go of a task once its metrics are out (the key of claim_forecast_task).
SELECT pg_advisory_unlock(22002, hashtext(%(run_id)s::text || '/' || %(symbol)s::text || '/' || %(horizon)s::text));
