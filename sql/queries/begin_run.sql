-- The run's date and image: recorded by the run's first attempt, kept by every later one
-- (migrations 20261204_22_run_dates and 20261205_23_run_images).
SELECT as_of, image_ref, recorded_by, recorded_at
FROM record_forecast_run(%(run_id)s, %(as_of)s, %(recorder)s, %(image_ref)s);
