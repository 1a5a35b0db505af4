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
_NO_REASONS = ("equivalent: a Review always has reasons (a failing check's findings, or every passed check), so the "
               "empty-reasons branch is never taken")
_OWN_CRITERIA = ("equivalent on the table as it is: canary, limited and prod each have criteria of their own, so "
                 "the text for a phase without any is never shown")
_START = ("equivalent within the solver's precision: every start is symmetric (all weights equal), and from "
          "each SLSQP reaches the same optimum: at most 1.5e-6 apart over 660 problems of 2-6 models, below "
          "the 2e-6 by which the solver and the ridge already miss the exact least-squares optimum")

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
    "jobs.forecasting.calendar.x_sessions_behind__mutmut_13":
        "equivalent: with as_of on the last bar's session the range after it is empty, so the count is 0 either way",
    # jobs/forecasting/ensemble.py
    "jobs.forecasting.ensemble.x_inverse_rmse_weights__mutmut_28":
        "equivalent: the inverse RMSEs are normalised to sum to one, so a common factor cancels",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_3[07]":
        "equivalent: scipy's minimize picks SLSQP itself for a problem with bounds and constraints",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_54": "equivalent: scipy lower-cases the method name",
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_49": _START,
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_50": _START,
    "jobs.forecasting.ensemble.x_simplex_least_squares__mutmut_71":
        "equivalent on every problem measured: SLSQP ended inside its bounds on all 660 (2-6 models, least 0.0); "
        "the clip guards the ulp excursions of scipy gh-11403, which no input found produces",
    # jobs/contract/triggers.py: the docs' tables, rendered from the one table as it is
    "jobs.contract.triggers.x_markdown_table__mutmut_26":
        "equivalent on the table as it is: no trigger names two or more deployed phases short of all, so the "
        "separator between phase names never appears",
    "jobs.contract.triggers.x_criteria_markdown__mutmut_19": _OWN_CRITERIA,
    "jobs.contract.triggers.x_criteria_markdown__mutmut_20": _OWN_CRITERIA,
    # jobs/rollout/checks.py
    "jobs.rollout.checks.x__fired__mutmut_12": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_duration__mutmut_28": _UNUSED_OK,
    "jobs.rollout.checks.x_check_duration__mutmut_34": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_14": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_coverage__mutmut_43": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_coverage__mutmut_82": _EMPTY_ROLLBACK,
    "jobs.rollout.checks.x_check_coverage__mutmut_16": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_23": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_45": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_54": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_84": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_92": _UNUSED_OK,
    "jobs.rollout.checks.x_check_coverage__mutmut_[12]":
        "equivalent: check_coverage reads its phase only through applies('coverage-missing', phase), true for "
        "limited alone, so canary and any other name that is not limited behave alike",
    "jobs.rollout.checks.x_check_coverage__mutmut_71":
        "equivalent: a coverage equal to the band's low bound is inside the band and returned PROCEED above",
    "jobs.rollout.checks.x_check_divergence__mutmut_37":
        "equivalent on the table as it is: the symbol share applies to limited alone, where neither per-horizon "
        "criterion (canary's, prod's) applies, so nothing is in monitor for it to overwrite",
    "jobs.rollout.checks.x_evaluate__mutmut_30": "equivalent: the Review's incidents default to ()",
    # jobs/rollout/gate.py
    "jobs.rollout.gate.x__proven__mutmut_41": _NO_REASONS,
    "jobs.rollout.gate.x__proven__mutmut_43": _NO_REASONS,
}


def reason_for(name: str) -> str | None:
    """The reason ``name`` survives, from the first key that matches it (exact names first)."""
    if name in REASONS:
        return REASONS[name]
    return next((why for key, why in REASONS.items() if fnmatchcase(name, key)), None)


def is_equivalent(name: str) -> bool:
    """Whether ``name`` is explained as an equivalent mutant."""
    return (reason_for(name) or "").startswith(EQUIVALENT)
