-- Every forecast lies inside its own prediction interval: lower <= point <= upper (DESIGN §3.2),
-- for the log returns and for the prices derived from them.
-- Rows written before this check may break it (a damaged bar made a model's point leave its own
-- interval). They are not fixed up and not silently dropped: each is moved, unchanged, to
-- forecasts_quarantined with the reason, and recorded in forecast_failures for its run, so the
-- review counts that symbol-horizon as failed instead of trusting a wrong forecast.
-- depends: 20260128_forecast_target_key
CREATE TABLE forecasts_quarantined (LIKE forecasts INCLUDING DEFAULTS);
ALTER TABLE forecasts_quarantined
    ADD COLUMN reason TEXT NOT NULL DEFAULT 'point forecast outside its own prediction interval',
    ADD COLUMN quarantined_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

WITH moved AS (
    DELETE FROM forecasts
    WHERE NOT (lower_return <= predicted_return AND predicted_return <= upper_return
               AND lower_price <= predicted_price AND predicted_price <= upper_price)
    RETURNING *
)
INSERT INTO forecasts_quarantined SELECT * FROM moved;

INSERT INTO forecast_failures (run_id, symbol, horizon, reason)
SELECT run_id, symbol, horizon,
       'forecast quarantined by migration 20261202_13_forecast_interval_check: point outside its own interval'
FROM forecasts_quarantined
ON CONFLICT (run_id, symbol, horizon) DO NOTHING;

ALTER TABLE forecasts ADD CONSTRAINT forecasts_point_inside_interval CHECK (
    lower_return <= predicted_return AND predicted_return <= upper_return
    AND lower_price <= predicted_price AND predicted_price <= upper_price
);
