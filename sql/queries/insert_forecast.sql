-- The forecast for a symbol, horizon and target time. A later run (a regeneration) replaces it;
-- a retry of the same run changes nothing, so its created_at stays that of the first attempt.
INSERT INTO forecasts (
    run_id, symbol, horizon, origin_ts, target_ts, last_close, predicted_return, predicted_price,
    lower_return, upper_return, lower_price, upper_price, interval_level, weights, weights_reverted,
    model_count, models_used, rollout_phase
) VALUES (
    %(run_id)s, %(symbol)s, %(horizon)s, %(origin_ts)s, %(target_ts)s, %(last_close)s, %(predicted_return)s,
    %(predicted_price)s, %(lower_return)s, %(upper_return)s, %(lower_price)s, %(upper_price)s,
    %(interval_level)s, %(weights)s, %(weights_reverted)s, %(model_count)s, %(models_used)s, %(rollout_phase)s
)
ON CONFLICT (symbol, horizon, target_ts) DO UPDATE
SET run_id = EXCLUDED.run_id, origin_ts = EXCLUDED.origin_ts, last_close = EXCLUDED.last_close,
    predicted_return = EXCLUDED.predicted_return, predicted_price = EXCLUDED.predicted_price,
    lower_return = EXCLUDED.lower_return, upper_return = EXCLUDED.upper_return,
    lower_price = EXCLUDED.lower_price, upper_price = EXCLUDED.upper_price,
    interval_level = EXCLUDED.interval_level, weights = EXCLUDED.weights,
    weights_reverted = EXCLUDED.weights_reverted, model_count = EXCLUDED.model_count,
    models_used = EXCLUDED.models_used, rollout_phase = EXCLUDED.rollout_phase, created_at = NOW(),
    metrics_published_at = NULL
WHERE forecasts.run_id IS DISTINCT FROM EXCLUDED.run_id;
