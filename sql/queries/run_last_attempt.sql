-- The highest attempt that claimed a task of the run so far (0 for a new run).
SELECT COALESCE(MAX(attempt), 0) AS attempt FROM forecast_tasks WHERE run_id = %(run_id)s;
