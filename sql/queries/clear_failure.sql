-- A retry that succeeds clears the failure an earlier attempt recorded.
DELETE FROM forecast_failures WHERE run_id = %(run_id)s AND symbol = %(symbol)s AND horizon = %(horizon)s;
