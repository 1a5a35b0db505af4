-- Symbols that leave a stack leave the review. The stack's symbol list is the source of truth:
-- on its start in a stack the job marks the phase's symbols that are no longer listed as retired
-- (DML only: the job role has no DDL), and a symbol listed again gets a new listed_at.
-- The review expects a symbol's forecast on a day only while it was listed:
-- listed_at::date <= day < retired_at::date (NULL: unbounded on that side).
-- Resume on retry: a symbol-horizon's rows are stamped metrics_published_at once its metrics are
-- published; a retry of the run skips exactly the stamped ones (see run_written.sql).
-- depends: 20260128_forecast_target_key
ALTER TABLE symbol_metadata ADD COLUMN retired_at TIMESTAMPTZ;
ALTER TABLE symbol_metadata ADD COLUMN listed_at TIMESTAMPTZ;
ALTER TABLE forecasts ADD COLUMN metrics_published_at TIMESTAMPTZ;
ALTER TABLE forecast_failures ADD COLUMN metrics_published_at TIMESTAMPTZ;
