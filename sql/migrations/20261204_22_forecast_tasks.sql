-- Exactly once per symbol-horizon and run (issue 22). Before a process computes a task it claims
-- it: a row with the run id and the attempt, under a session advisory lock that the claiming
-- process holds until the task's metrics are out. A second process with the same run id finds
-- the lock held and skips the task (or, once the lock is free, finds it finished); a retry after a
-- killed attempt finds the lock released by the dead session and takes the task over.
-- The task's rows and its stamp `published_at` commit in one transaction (finish_forecast_task),
-- and only the process whose stamp committed publishes the task's metrics: who publishes is
-- decided here, and a failure is published only when its row committed.
-- The job role has no DDL and no write grant on this table: it claims and finishes through the
-- functions below, which run as their owner (SECURITY DEFINER, search_path pinned).
-- depends: 20261202_16_symbol_retirement
CREATE TABLE forecast_tasks (
    run_id        TEXT        NOT NULL,
    symbol        TEXT        NOT NULL,
    horizon       TEXT        NOT NULL,
    -- The attempt that holds (or last held) the claim; NULL for tasks finished before this table.
    attempt       INTEGER,
    claimed_by    TEXT        NOT NULL,
    claimed_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    state         TEXT        NOT NULL DEFAULT 'claimed'
                  CONSTRAINT forecast_tasks_state CHECK (state IN ('claimed', 'written', 'failed')),
    published_at  TIMESTAMPTZ,
    PRIMARY KEY (run_id, symbol, horizon)
);

-- Runs finished before this migration keep their resume state.
INSERT INTO forecast_tasks (run_id, symbol, horizon, claimed_by, state, published_at)
SELECT run_id, symbol, horizon, 'before 20261204_22', 'written', metrics_published_at
FROM forecasts WHERE metrics_published_at IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO forecast_tasks (run_id, symbol, horizon, claimed_by, state, published_at)
SELECT run_id, symbol, horizon, 'before 20261204_22', 'failed', metrics_published_at
FROM forecast_failures WHERE metrics_published_at IS NOT NULL
ON CONFLICT DO NOTHING;

-- Claim a task for p_claimer. Returns 'busy' (another live session holds it; only without p_wait),
-- 'finished' (its rows and stamp committed: skip it; the lock is not kept) or 'claimed' (this
-- session now holds the lock until it releases it or ends), with the task's state, the attempt
-- that last held it and whether this is the task's first claim in the run.
CREATE FUNCTION claim_forecast_task(p_run_id TEXT, p_symbol TEXT, p_horizon TEXT, p_attempt INTEGER,
                                    p_claimer TEXT, p_wait BOOLEAN)
RETURNS TABLE (claim TEXT, state TEXT, attempt INTEGER, first_claim BOOLEAN)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    k INTEGER := hashtext(p_run_id || '/' || p_symbol || '/' || p_horizon);
    task forecast_tasks%ROWTYPE;
    first BOOLEAN;
BEGIN
    IF p_wait THEN
        PERFORM pg_advisory_lock(22002, k);
    ELSIF NOT pg_try_advisory_lock(22002, k) THEN
        RETURN QUERY SELECT 'busy'::TEXT, NULL::TEXT, NULL::INTEGER, FALSE;
        RETURN;
    END IF;
    SELECT * INTO task FROM forecast_tasks t
    WHERE t.run_id = p_run_id AND t.symbol = p_symbol AND t.horizon = p_horizon;
    first := NOT FOUND;
    IF NOT first AND task.published_at IS NOT NULL THEN
        PERFORM pg_advisory_unlock(22002, k);
        RETURN QUERY SELECT 'finished'::TEXT, task.state, task.attempt, FALSE;
        RETURN;
    END IF;
    INSERT INTO forecast_tasks AS t (run_id, symbol, horizon, attempt, claimed_by)
    VALUES (p_run_id, p_symbol, p_horizon, p_attempt, p_claimer)
    ON CONFLICT (run_id, symbol, horizon) DO UPDATE
    SET attempt = EXCLUDED.attempt, claimed_by = EXCLUDED.claimed_by, claimed_at = NOW();
    RETURN QUERY SELECT 'claimed'::TEXT, COALESCE(task.state, 'claimed'), p_attempt, first;
END $$;

-- In the transaction that writes the task's rows: its final state and the publish stamp. Raises
-- when p_claimer no longer holds the claim (it was taken over), which rolls the rows back too.
-- Idempotent for the holder: a write retried after a lost commit acknowledgement stamps again.
CREATE FUNCTION finish_forecast_task(p_run_id TEXT, p_symbol TEXT, p_horizon TEXT, p_claimer TEXT, p_state TEXT)
RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE forecast_tasks t SET state = p_state, published_at = NOW()
    WHERE t.run_id = p_run_id AND t.symbol = p_symbol AND t.horizon = p_horizon AND t.claimed_by = p_claimer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % % of run % is no longer claimed by %: another process took it over',
            p_symbol, p_horizon, p_run_id, p_claimer;
    END IF;
END $$;

-- After a publish that failed: the task's metrics are not out, so a retry runs and publishes it.
CREATE FUNCTION unpublish_forecast_task(p_run_id TEXT, p_symbol TEXT, p_horizon TEXT, p_claimer TEXT)
RETURNS VOID
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    UPDATE forecast_tasks t SET published_at = NULL
    WHERE t.run_id = p_run_id AND t.symbol = p_symbol AND t.horizon = p_horizon AND t.claimed_by = p_claimer;
$$;
