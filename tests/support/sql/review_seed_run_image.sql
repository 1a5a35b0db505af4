-- A run's recorded date and image (forecast_runs), as its first attempt records them through
-- record_forecast_run; a later row of the same run keeps what the first recorded.
INSERT INTO forecast_runs (run_id, as_of, recorded_by, image_ref)
VALUES (%(run_id)s, (%(created_at)s::timestamptz AT TIME ZONE 'UTC')::date, 'tests', %(image_ref)s)
ON CONFLICT (run_id) DO NOTHING;
