-- Test data for the filter tests: one consistent forecast row, with its created_at and publication stamp.
INSERT INTO forecasts (
    run_id, symbol, horizon, origin_ts, target_ts, last_close, predicted_return, predicted_price,
    lower_return, upper_return, lower_price, upper_price, interval_level, weights, weights_reverted,
    model_count, models_used, rollout_phase, created_at, metrics_published_at
) VALUES (
    %(run_id)s, %(symbol)s, %(horizon)s, %(origin_ts)s, %(target_ts)s, %(last_close)s, %(predicted_return)s,
    %(predicted_price)s, %(lower_return)s, %(upper_return)s, %(lower_price)s, %(upper_price)s, 0.9,
    '{"LSTM": 0.5, "ARIMA_GARCH": 0.5}'::jsonb, FALSE, 2, 'LSTM,ARIMA_GARCH', %(rollout_phase)s, %(created_at)s,
    %(metrics_published_at)s
);
