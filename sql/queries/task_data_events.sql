-- The data events a task recorded first (its DataEvents metric): the same count on a retry of the run.
SELECT COUNT(*) AS n FROM data_events WHERE run_id = %(run_id)s AND symbol = %(symbol)s AND horizon = %(horizon)s;
