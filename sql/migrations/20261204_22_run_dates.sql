-- A run has one date. The run's date (the job's --as-of: freshness is measured against it, a
-- data incident's streak counts by it) defaults to today, so a retry of the same run id after
-- midnight would compute its remaining tasks for another day than the first attempt did. The
-- first attempt records the date here, beside the run's task claims (20261204_22_forecast_tasks);
-- every later attempt, and every other process with the run id (a Batch array's children), reads
-- it back and keeps it. A run that started before this migration records the date of its first
-- attempt after it.
-- The job role has no write grant on this table: it records through the function below, which
-- runs as its owner (SECURITY DEFINER, search_path pinned), as the task claims do.
-- depends: 20261204_22_forecast_tasks
CREATE TABLE forecast_runs (
    run_id       TEXT        PRIMARY KEY,
    as_of        DATE        NOT NULL,
    -- Who recorded the date (a process's claims name, jobs.storage.tasks.new_claimer) and when.
    recorded_by  TEXT        NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Record p_as_of as run p_run_id's date unless the run has one; return the run's date and who
-- recorded it (p_recorder: this call recorded it). One statement, so two processes starting the
-- same run at once agree: the second waits for the first's insert and gets its row. The update
-- on conflict changes nothing; it is there so that RETURNING yields the row already recorded.
CREATE FUNCTION begin_forecast_run(p_run_id TEXT, p_as_of DATE, p_recorder TEXT)
RETURNS TABLE (as_of DATE, recorded_by TEXT, recorded_at TIMESTAMPTZ)
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    INSERT INTO forecast_runs AS r (run_id, as_of, recorded_by)
    VALUES (p_run_id, p_as_of, p_recorder)
    ON CONFLICT (run_id) DO UPDATE SET as_of = r.as_of
    RETURNING r.as_of, r.recorded_by, r.recorded_at;
$$;
