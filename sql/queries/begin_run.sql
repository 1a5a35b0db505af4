-- The run's date: recorded by the run's first attempt, kept by every later one (migration 20261204_22_run_dates).
SELECT as_of, recorded_by, recorded_at FROM begin_forecast_run(%(run_id)s, %(as_of)s, %(recorder)s);
