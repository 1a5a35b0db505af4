-- In the task's write transaction: its final state ('written' or 'failed') and the publish stamp.
SELECT finish_forecast_task(%(run_id)s, %(symbol)s, %(horizon)s, %(claimer)s, %(state)s);
