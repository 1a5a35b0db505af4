-- Test data for the filter tests: a claimed (or finished, when stamped) task of a run, as claim_forecast_task leaves it.
INSERT INTO forecast_tasks (run_id, symbol, horizon, attempt, claimed_by, state, published_at)
VALUES (%(run_id)s, %(symbol)s, %(horizon)s, %(attempt)s, %(claimed_by)s, %(state)s, %(published_at)s);
