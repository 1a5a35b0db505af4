-- The task's metrics could not be published: a retry of the run runs it again and publishes them.
SELECT unpublish_forecast_task(%(run_id)s, %(symbol)s, %(horizon)s, %(claimer)s);
