-- One row per walk-forward window and model set; a retried run writes nothing new.
INSERT INTO ensemble_validation_metrics (
    run_id, symbol, horizon, window_id, train_start, val_start, test_start, test_end,
    val_rmse, test_rmse, naive_val_rmse, naive_test_rmse, rmse_ratio, divergence, is_overfitting,
    weights, weights_reverted, model_count, models_used, model_set, model_errors, is_baseline,
    optimization_method, rollout_phase, interval_coverage, interval_width
) VALUES (
    %(run_id)s, %(symbol)s, %(horizon)s, %(window_id)s, %(train_start)s, %(val_start)s, %(test_start)s,
    %(test_end)s, %(val_rmse)s, %(test_rmse)s, %(naive_val_rmse)s, %(naive_test_rmse)s, %(rmse_ratio)s,
    %(divergence)s, %(is_overfitting)s, %(weights)s, %(weights_reverted)s, %(model_count)s, %(models_used)s,
    %(model_set)s, %(model_errors)s, %(is_baseline)s, %(optimization_method)s, %(rollout_phase)s,
    %(interval_coverage)s, %(interval_width)s
)
ON CONFLICT (run_id, symbol, horizon, model_set, is_baseline, window_id) DO NOTHING;
