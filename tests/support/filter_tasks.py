"""Filter scenarios of the task claims (issue 22): the queries behind resume and the functions they call.

Every scenario has the task it asks about, run R's ``S`` at ``1D``, next to tasks that differ
from it in one part of the key (run ``R2``, symbol ``S2``, horizon ``4h``) or in who holds the
claim (``other``), and finished (stamped) beside unfinished tasks. ``claim_task``,
``finish_task`` and ``unpublish_task`` hold no WHERE of their own: their terms are in the
``SECURITY DEFINER`` functions of migration ``20261204_22_forecast_tasks`` (``routine``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.support.filter_rows import Rows, day
from tests.support.sql_filters import Filter, Raised, Scenario

RUN, SYMBOL, HORIZON = "t.run_id = %(run_id)s", "t.symbol = %(symbol)s", "t.horizon = %(horizon)s"
P_RUN, P_SYMBOL, P_HORIZON = "t.run_id = p_run_id", "t.symbol = p_symbol", "t.horizon = p_horizon"
P_CLAIMER = "t.claimed_by = p_claimer"
# The neighbours of R/S/1D: one part of the key differs.
NEIGHBOURS = (("R2", "S", "1D"), ("R", "S2", "1D"), ("R", "S", "4h"))
TAKEN_OVER = "task T 1D of run R is no longer claimed by me: another process took it over"


def _call(symbol: str, **more: Any) -> dict[str, Any]:
    return {"run_id": "R", "symbol": symbol, "horizon": "1D", **more}


def _task_row(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """An observed task as (run, symbol, horizon, state, stamped)."""
    return row["run_id"], row["symbol"], row["horizon"], row["state"], row["stamped"]


def _finished(r: Rows) -> None:
    """R's A written by attempt 1, B failed by attempt 2 (with its reason), C claimed only; R2's D written.

    Failures of A in another run, of another symbol and at another horizon must not lend A a reason.
    """
    r.task("R", "A", "1D", published=day(1), state="written")
    r.task("R", "B", "1D", attempt=2, published=day(1), state="failed")
    r.failure("R", "B", "1D", day(1))
    r.task("R", "C", "1D")
    r.task("R2", "D", "1D", published=day(1), state="written")
    for run, sym, hor in (("R2", "A", "1D"), ("R", "A2", "1D"), ("R", "A", "4h")):
        r.failure(run, sym, hor, day(1))


def _finished_row(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return row["symbol"], row["horizon"], row["state"], row["attempt"], row["reason"]


def _attempts(r: Rows) -> None:
    r.task("R", "A", "1D", attempt=1)
    r.task("R", "B", "1D", attempt=2)
    r.task("R2", "A", "1D", attempt=5)


def _bars(r: Rows) -> None:
    """HAS has a daily bar; HOURLY only hourly ones; NONE none; UNASKED (not asked for) a daily bar."""
    r.bar("HAS", "1d")
    r.bar("HOURLY", "1h")
    r.bar("UNASKED", "1d")


def _claims(r: Rows) -> None:
    """R/S/1D has no task yet; its neighbours are finished; F is finished, U claimed by a dead attempt."""
    for run, sym, hor in NEIGHBOURS:
        r.task(run, sym, hor, published=day(1), state="written")
    r.task("R", "F", "1D", published=day(1), state="written")
    r.task("R", "U", "1D", claimer="dead")


def _claim_row(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A claim as (symbol asked for, claim, state, attempt, first claim of the run)."""
    return row["symbol"], row["claim"], row["state"], row["attempt"], row["first_claim"]


def _holding(published: bool) -> Any:
    """R/S/1D and its neighbours claimed by ``me``, T by ``other``; all finished when ``published``."""
    def seed(r: Rows) -> None:
        stamp, state = (day(1), "written") if published else (None, "claimed")
        for run, sym, hor in (("R", "S", "1D"), *NEIGHBOURS):
            r.task(run, sym, hor, published=stamp, state=state)
        r.task("R", "T", "1D", claimer="other", published=stamp, state=state)
    return seed


def _claim_filters() -> tuple[Filter, ...]:
    first = ("S", "claimed", "claimed", 2, True)
    return (Filter(P_RUN, "R2's finished S 1D is not R's task", (first,), (("S", "finished", "written", 1, False),)),
            Filter(P_SYMBOL, "R's finished S2 1D is not S's task", (first,)),
            Filter(P_HORIZON, "R's finished S 4h is not the 1D task", (first,), (("S", "finished", "written", 1, False),)))


def _claim_keeps() -> tuple[Filter, ...]:
    """Beyond the key: a finished task is skipped, an unfinished one taken over (not a first claim)."""
    return (Filter("finished", "F is finished: skipped, the lock let go", (("F", "finished", "written", 1, False),)),
            Filter("unfinished", "U was claimed by a dead attempt: taken over", (("U", "claimed", "claimed", 2, False),)))


def _stamp_filters(before: tuple[str, bool], after: tuple[str, bool], *raised: Raised) -> tuple[Filter, ...]:
    """finish/unpublish turn R/S/1D from ``before`` to ``after`` (state, stamped), and only it, and only
    for the claim's holder: a neighbour also held by me, or T held by another process, stays ``before``."""
    changed = [(run, sym, hor, *after) for run, sym, hor in NEIGHBOURS]
    done = ("R", "S", "1D", *after)
    return (Filter(P_RUN, "R2's S 1D, also held by me", (done,), (changed[0],)),
            Filter(P_SYMBOL, "R's S2 1D, also held by me", (done,), (changed[1],)),
            Filter(P_HORIZON, "R's S 4h, also held by me", (done,), (changed[2],)),
            Filter(P_CLAIMER, "T, held by another process", (("R", "T", "1D", *before), *raised),
                   (("R", "T", "1D", *after),)))


CLAIM = _call("S", attempt=2, claimer="me", wait=False)
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("run_finished_tasks", _finished, ({"run_id": "R"},), _finished_row, (
        Filter(RUN, "R2's finished task", (("A", "1D", "written", 1, None), ("B", "1D", "failed", 2, "ValueError: seeded")),
               (("D", "1D", "written", 1, None),)),
        Filter("t.published_at IS NOT NULL", "R's task C is claimed, not finished", (("A", "1D", "written", 1, None),),
               (("C", "1D", "claimed", 1, None),)))),
    Scenario("run_last_attempt", _attempts, ({"run_id": "R"},), lambda row: row["attempt"], (
        Filter("run_id = %(run_id)s", "R2 reached attempt 5", (2,), (5,)),)),
    Scenario("symbols_with_bars", _bars, ({"symbols": ["HAS", "HOURLY", "NONE"], "timeframes": ["1d"]},),
             lambda row: row["symbol"], (
        Filter("EXISTS (SELECT 1 FROM ohlc_bars b WHERE b.symbol = s.symbol AND b.timeframe = t.timeframe)",
               "NONE has no bar", ("HAS",), ("NONE",)),
        Filter("b.symbol = s.symbol", "UNASKED's daily bar is not NONE's", ("HAS",), ("NONE",)),
        Filter("b.timeframe = t.timeframe", "HOURLY has only hourly bars", ("HAS",), ("HOURLY",)))),
    Scenario("claim_task", _claims, (CLAIM, {**CLAIM, "symbol": "F"}, {**CLAIM, "symbol": "U"}), _claim_row,
             _claim_filters(), routine="claim_forecast_task", with_params=True, also=_claim_keeps()),
    Scenario("finish_task", _holding(published=False), (
        _call("S", claimer="me", state="written"), _call("T", claimer="me", state="written")), _task_row,
        _stamp_filters(("claimed", False), ("written", True), Raised("P0001", TAKEN_OVER)),
        observe="filter_tasks", routine="finish_forecast_task"),
    Scenario("unpublish_task", _holding(published=True), (_call("S", claimer="me"), _call("T", claimer="me")),
             _task_row, _stamp_filters(("written", True), ("written", False)), observe="filter_tasks",
             routine="unpublish_forecast_task"),
)
