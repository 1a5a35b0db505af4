-- Which image ran a run. The stacks render their pinned imageRef into every job definition's
-- environment as IMAGE_REF; a run's first attempt records it here beside the run's date, every
-- later attempt reads it back (a retry with another image is refused: a run has one image), and
-- the promotion gate counts only the previous phase's runs of the image the next stack pins
-- (gate_phase_runs). NULL: the image is unknown (a local run without IMAGE_REF, a run recorded
-- before this migration, or by an image older than it); such a run counts for no image.
-- begin_forecast_run (20261204_22_run_dates) stays as it is: the images limited and prod still
-- run call it until their promotion (migrations are additive), and its rows get NULL here.
-- Images from this migration on record through record_forecast_run, which runs as its owner
-- (SECURITY DEFINER, search_path pinned) as begin_forecast_run does: still no write grant.
-- depends: 20261204_22_run_dates
ALTER TABLE forecast_runs ADD COLUMN image_ref TEXT;

-- Record p_as_of and p_image_ref (NULL: unknown) as run p_run_id's date and image unless the run
-- has them; return what the run recorded (p_recorder: this call recorded it). One statement, as
-- in begin_forecast_run: two processes starting the same run at once agree.
CREATE FUNCTION record_forecast_run(p_run_id TEXT, p_as_of DATE, p_recorder TEXT, p_image_ref TEXT)
RETURNS TABLE (as_of DATE, image_ref TEXT, recorded_by TEXT, recorded_at TIMESTAMPTZ)
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    INSERT INTO forecast_runs AS r (run_id, as_of, recorded_by, image_ref)
    VALUES (p_run_id, p_as_of, p_recorder, p_image_ref)
    ON CONFLICT (run_id) DO UPDATE SET as_of = r.as_of
    RETURNING r.as_of, r.image_ref, r.recorded_by, r.recorded_at;
$$;
