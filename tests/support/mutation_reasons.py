"""Why each mutant that ``make mutate`` leaves alive survives: equivalent, or what would kill it.

Keys are mutmut mutant names or ``fnmatch`` patterns of them (``module.x_function__mutmut_N``);
a reason that starts with ``equivalent`` marks a mutant that no test can kill because it does
not change what the code does for any input it accepts. ``tests.support.mutate --survivors``
prints each survivor with its reason (``UNEXPLAINED`` when it has none) and the report counts
the equivalent ones apart. Mutant numbers are stable while a function's text is unchanged;
after an edit, re-run ``make mutate`` and check the survivors against this table.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

EQUIVALENT = "equivalent"

_UTC = "equivalent: pandas reads time-zone names case-insensitively ('utc' is UTC)"
_EMPTY_ROLLBACK = "equivalent: an empty list and None are both no rollback finding (``if rollback:``)"
_UNUSED_OK = "equivalent: the ok text is used only when nothing is found, and here something always is"
_SAME_LENGTHS = "equivalent: both sequences come from one source, so their lengths are always equal"
_NUMERIC = "equivalent: numeric inputs (the only ones accepted) convert to the same float array either way"
_SLSQP = ("equivalent on the weights' problem: SLSQP solves this small convex quadratic programme exactly in a "
          "few iterations (measured: 3-4 for 2-5 models), so its tolerance, iteration cap, start point and "
          "solver-failure guards never come into play")

REASONS: dict[str, str] = {
    # jobs/forecasting/calendar.py
    "jobs.forecasting.calendar.x_next_target__mutmut_15":
        "equivalent: a daily bar's session date is its UTC date; session_date reads no exchange for '1d'",
    "jobs.forecasting.calendar.x_next_target__mutmut_34": _UTC,
    "jobs.forecasting.calendar.x_next_target__mutmut_3[7]": "equivalent: session_date treats every timeframe but "
                                                           "'1d' as hourly (the local session date)",
    "jobs.forecasting.calendar.x_next_target__mutmut_4[23]": "equivalent: session_date treats every timeframe but "
                                                            "'1d' as hourly (the local session date)",
    "jobs.forecasting.calendar.x_next_target__mutmut_54":
        "equivalent: one more day of hourly bars than the 14 + steps days that are always enough",
    "jobs.forecasting.calendar.x_hourly_bar_ends__mutmut_40": _UTC,
    "jobs.forecasting.calendar.x_daily_sessions__mutmut_18": _UTC,
    "jobs.forecasting.calendar.x_missing_sessions__mutmut_9": _UTC,
    "jobs.forecasting.calendar.x_missing_sessions__mutmut_13": _UTC,
    "jobs.forecasting.calendar.x__utc__mutmut_[59]": _UTC,
    "jobs.forecasting.calendar.x__naive_day__mutmut_5":
        "equivalent: tz_convert(None) converts to UTC and drops the zone; the tz_localize(None) after it is a no-op",
    "jobs.forecasting.calendar.x__naive_day__mutmut_7": _UTC,
    # jobs/forecasting/ensemble.py
    "jobs.forecasting.ensemble.x_fit_weights__mutmut_3[69]": _SAME_LENGTHS + " (the names and the matrix's columns)",
    "jobs.forecasting.ensemble.x_fit_weights__mutmut_41": _SAME_LENGTHS + " (the names and the matrix's columns)",
    "jobs.forecasting.ensemble.x_combine__mutmut_1[46]": _NUMERIC,
    "jobs.forecasting.ensemble.x__validation_rows__mutmut_[79]": _NUMERIC,
    "jobs.forecasting.ensemble.x__validation_rows__mutmut_1[79]": _NUMERIC,
    "jobs.forecasting.ensemble.x__validation_rows__mutmut_2[367]": _SAME_LENGTHS + " (the names and their columns)",
    "jobs.forecasting.ensemble.x__validation_rows__mutmut_[34][269]": _SAME_LENGTHS + " (the names and the columns' checks)",
    "jobs.forecasting.ensemble.x_inverse_rmse_weights__mutmut_28":
        "equivalent: the inverse RMSEs are normalised to sum to one, so a common factor cancels",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_11":
        "equivalent: with scale 0 (every forecast identically zero) the mutant's solver gets NaN and the "
        "finite-result guard returns the same equal weights",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_2[57]":
        "equivalent: the ridge's linear term is the same on every point of the simplex (sum(w) = 1), so its "
        "sign and size do not move the optimum",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_3[349]": _SLSQP,
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_4[2679]": _SLSQP,
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_5[7]":
        "equivalent: scipy lower-cases the method name, and picks SLSQP for a bounded, constrained problem",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_60":
        "equivalent: w >= 0 and sum(w) = 1 already keep every weight at most 1",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_64": "equivalent: scipy lower-cases the constraint type",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_7[013]":
        "equivalent: without (or with a broadcast) constraint Jacobian scipy differentiates the linear constraint "
        "numerically, exactly",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_7[4-9]": _SLSQP,
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_8[24]": _SLSQP,
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_90":
        "equivalent within rounding: SLSQP's weights already sum to 1 within an ulp, so multiplying by the sum "
        "and dividing by it differ by at most an ulp",
    # jobs/rollout/checks.py
    "jobs.rollout.checks.x__fired__mutmut_12": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_coverage__mutmut_20": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_coverage__mutmut_59": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_coverage__mutmut_22": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_31": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_61": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_69": _UNUSED_OK,
    "jobs.rollout.checks.x_check_duration__mutmut_28": _UNUSED_OK,
    "jobs.rollout.checks.x_check_duration__mutmut_34": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_48":
        "equivalent: a coverage equal to the band's low bound is inside the band and returned PROCEED above",
    "jobs.rollout.checks.x_evaluate__mutmut_30": "equivalent: the Review's incidents default to ()",
    # jobs/rollout/gate.py
    "jobs.rollout.gate.x__promotion__mutmut_6[68]":
        "equivalent: a Review always has reasons (a failing check's findings, or every passed check), so the "
        "empty-reasons branch is never taken",
}


def reason_for(name: str) -> str | None:
    """The reason ``name`` survives, from the first key that matches it (exact names first)."""
    if name in REASONS:
        return REASONS[name]
    return next((why for key, why in REASONS.items() if fnmatchcase(name, key)), None)


def is_equivalent(name: str) -> bool:
    """Whether ``name`` is explained as an equivalent mutant."""
    return (reason_for(name) or "").startswith(EQUIVALENT)
