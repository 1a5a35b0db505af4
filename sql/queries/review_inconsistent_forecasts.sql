-- Review: forecast rows of the phase whose values contradict each other; the first problem found is named.
-- The finite checks come first: 'NaN' sorts above every number in PostgreSQL, so "x < 'Infinity'" excludes it.
SELECT run_id, symbol, horizon, created_at, problem
FROM (
    SELECT
        run_id, symbol, horizon, created_at,
        CASE
            WHEN NOT (predicted_return > '-Infinity'::float8 AND predicted_return < 'Infinity'::float8
                      AND lower_return > '-Infinity'::float8 AND lower_return < 'Infinity'::float8
                      AND upper_return > '-Infinity'::float8 AND upper_return < 'Infinity'::float8
                      AND predicted_price < 'Infinity'::float8 AND last_close < 'Infinity'::float8)
                THEN 'a value is not finite (NaN or infinite)'
            WHEN last_close <= 0 OR predicted_price <= 0
                THEN 'last_close or predicted_price is not positive'
            -- Checked before exp() below, which would overflow on absurd returns.
            WHEN abs(predicted_return) > 1
                THEN 'predicted log return beyond +-1 (a price move of 63 to 172 percent)'
            WHEN lower_return > predicted_return OR predicted_return > upper_return
                THEN 'prediction interval does not contain the forecast'
            WHEN abs(predicted_price - last_close * exp(predicted_return)) > 1e-6 * last_close
                THEN 'predicted_price is not last_close * exp(predicted_return)'
            WHEN target_ts <= origin_ts
                THEN 'target_ts is not after origin_ts'
            WHEN NOT (interval_level > 0 AND interval_level < 1)
                THEN 'interval_level is not in (0, 1)'
            WHEN jsonb_typeof(weights) <> 'object'
                THEN 'weights are not a JSON object'
            WHEN abs((SELECT COALESCE(SUM(w.value::float8), 0) FROM jsonb_each_text(weights) AS w) - 1) > 1e-6
                THEN 'weights do not sum to 1'
        END AS problem
    FROM forecasts
    WHERE rollout_phase = ANY(%(phases)s)
      AND created_at > %(since)s AND created_at <= %(until)s
) AS checked
WHERE problem IS NOT NULL
ORDER BY created_at, symbol, horizon;
