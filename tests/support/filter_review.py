"""Filter scenarios of the queries behind the rollout review and the promotion gate.

The review window is ``(SINCE, UNTIL]`` over days D1..D3 of ``tests.support.filter_rows``; the
reviewed phase is canary. Symbols are named for the side of the filter they sit on: ``IN`` and
``EDGE`` (at UNTIL) and ``FIRST`` (one second after SINCE) are kept, the rest are traps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.support.filter_rows import SECOND, Rows, day
from tests.support.rollout_rows import image_ref
from tests.support.sql_filters import Filter, Scenario

SINCE, UNTIL = day(0, 6), day(2, 18)
WINDOW: Mapping[str, Any] = {"phases": ["canary"], "since": SINCE, "until": UNTIL}
PHASE = "rollout_phase = ANY(%(phases)s)"
AFTER_SINCE, UP_TO_UNTIL = "created_at > %(since)s", "created_at <= %(until)s"


def _symbol(row: Mapping[str, Any]) -> str:
    return str(row["symbol"])


def _window_filters(phase: bool = True) -> tuple[Filter, ...]:
    """The phase and time-window terms every per-phase review query has, in that order."""
    return ((Filter(PHASE, "a prod row in the window", ("IN",), ("PROD",)),) if phase else ()) + (
        Filter(AFTER_SINCE, "rows one second after and exactly at the window's start", ("FIRST",), ("AT_SINCE",)),
        Filter(UP_TO_UNTIL, "rows exactly at and one second after the window's end", ("EDGE",), ("LATE",)))


def _each_side(write: Any) -> None:
    """``write(symbol, phase, at)`` for the kept rows and the phase and window traps."""
    for symbol, phase, at in (("IN", "canary", day(1)), ("EDGE", "canary", UNTIL), ("FIRST", "canary", SINCE + SECOND),
                              ("PROD", "prod", day(1)), ("AT_SINCE", "canary", SINCE),
                              ("LATE", "canary", UNTIL + SECOND)):
        write(symbol, phase, at)


def _window_stats(r: Rows) -> None:
    _each_side(lambda s, p, at: r.window("ws", s, "1D", p, at))
    r.window("ws", "BASE", "1D", "canary", day(1), baseline=True)


def _baseline(r: Rows) -> None:
    _each_side(lambda s, p, at: r.pair("br", s, "1D", p, at))


def _counts(r: Rows) -> None:
    _each_side(lambda s, p, at: r.forecast("fc", s, "1D", p, at))


def _failures(r: Rows) -> None:
    for s in ("IN", "EDGE", "FIRST", "AT_SINCE", "LATE"):
        r.symbol(s, "canary")
    r.symbol("PROD", "prod")
    _each_side(lambda s, p, at: r.failure("rf", s, "1D", at))


def _inconsistent(r: Rows) -> None:
    _each_side(lambda s, p, at: r.forecast("if", s, "1D", p, at, price_error=0.01))
    r.forecast("if", "OK", "1D", "canary", day(1))


def _alert_storms(r: Rows) -> None:
    # Six critical alerts of the phase in the 6 minutes after SINCE: the sixth is a storm (> 5);
    # six more in the 5 minutes up to UNTIL. Each trap would be one more alert within an hour of them.
    for i in range(1, 7):
        r.window("as", f"C{i}", "1D", "canary", SINCE + 60 * i * SECOND, divergence=0.5)
        r.window("as", f"E{i}", "1D", "canary", UNTIL - 60 * (i - 1) * SECOND, divergence=0.5)
    r.window("as", "PROD", "1D", "prod", SINCE + 600 * SECOND, divergence=0.5)
    r.window("as", "BASE", "1D", "canary", SINCE + 660 * SECOND, divergence=0.5, baseline=True)
    r.window("as", "AT", "1D", "canary", SINCE + 720 * SECOND, divergence=0.3)  # exactly the critical threshold
    r.window("as", "AT_SINCE", "1D", "canary", SINCE, divergence=0.5)
    r.window("as", "LATE", "1D", "canary", UNTIL + SECOND, divergence=0.5)


def _storm(row: Mapping[str, Any]) -> tuple[int, int]:
    """An alert-storm row as (seconds after SINCE, alerts in the hour up to it)."""
    return int((row["hour_end"] - SINCE).total_seconds()), int(row["critical_alerts"])


END = int((UNTIL - SINCE).total_seconds())  # UNTIL in seconds after SINCE


def _logging_gaps(r: Rows) -> None:
    r.forecast("LG1", "A", "1D", "canary", day(1))
    r.window("LG1", "A", "1D", "canary", day(1))
    r.forecast("LGP", "P1", "1D", "prod", day(1))  # a prod run's forecast...
    r.window("LGP", "P2", "1D", "canary", day(-1))  # ...and its canary windows before the window
    r.forecast("LGS", "S", "1D", "canary", SINCE)
    r.forecast("LGU", "U", "1D", "canary", UNTIL + SECOND)
    r.window("LGQ", "Q1", "1D", "prod", day(1))
    r.forecast("LGQ", "Q2", "1D", "canary", day(-1))
    r.window("LGT", "T", "1D", "canary", SINCE)
    r.window("LGV", "V", "1D", "canary", UNTIL + SECOND)
    r.forecast("LG1", "X", "1D", "prod", day(1))
    r.window("LG1", "Y", "1D", "prod", day(1))
    r.window("LG1", "Z", "1D", "canary", day(1), baseline=True)
    # LG2 wrote W's windows at 11:00 and no forecast: a gap, unless another run forecast W 1D since.
    r.window("LG2", "W", "1D", "canary", day(1, 11))
    r.forecast("LG3", "W", "4h", "canary", day(1))  # another horizon
    r.forecast("LG0", "W", "1D", "canary", day(1, 10))  # before LG2's windows
    r.forecast("LG2", "W", "1D", "prod", day(1))  # LG2's own (of another phase)
    r.window("LG1", "F", "1D", "canary", day(1))
    r.failure("LG1", "F", "1D", day(1))
    r.failure("LG9", "W", "1D", day(-5))  # another run
    r.failure("LG2", "W2", "1D", day(1))  # another symbol
    r.failure("LG2", "W", "4h", day(1))  # another horizon
    # Runs seen only exactly at UNTIL: one by its forecast, one by its windows.
    r.forecast("LGE", "E", "1D", "canary", UNTIL)
    r.window("LGEW", "EW", "1D", "canary", UNTIL)
    # LG4's windows of W3, and another run's forecast of W3 1D at exactly the same time: not a gap.
    r.window("LG4", "W3", "1D", "canary", day(1, 11))
    r.forecast("LG5", "W3", "1D", "prod", day(1, 11))


def _gap(row: Mapping[str, Any]) -> tuple[str, str, str, bool, bool]:
    return row["run_id"], row["symbol"], row["horizon"], row["has_forecast"], row["has_windows"]


GAP_W = ("LG2", "W", "1D", False, True)  # LG2's windows of W without any forecast: a logging gap
AT_UNTIL = ("LGE", "E", "1D", True, False), ("LGEW", "EW", "1D", False, True)  # runs seen exactly at UNTIL
W_FORECAST = ("LG2", "W", "1D", True, True)


def _missing(r: Rows) -> None:
    for s in ("MA", "MB", "MF"):
        r.symbol(s, "canary")
    r.symbol("MR", "canary", retired=day(1, 9))
    r.symbol("MR2", "canary", retired=day(2, 9))
    r.symbol("ML", "canary", listed=day(2, 9))
    r.symbol("MP", "prod")
    r.forecast("m1", "MA", "1D", "canary", day(1))
    r.forecast("m2", "MA", "1D", "canary", day(2))
    r.forecast("m1", "MB", "8h", "canary", day(1))
    r.failure("m1", "MF", "1D", day(1))
    r.forecast("m1", "MQ", "1D", "prod", day(1))
    r.forecast("m0", "MS", "1D", "canary", SINCE)
    r.forecast("m3", "MU", "8h", "canary", UNTIL + SECOND)
    r.window("m0", "MV", "1D", "prod", day(0))
    r.window("m0", "MW", "1D", "canary", SINCE)
    r.window("m3", "MX", "8h", "canary", UNTIL + SECOND)
    r.forecast("m1", "MY", "4h", "prod", day(1))
    r.failure("m0", "MZ", "1D", day(0))
    r.failure("m0", "MA", "1D", SINCE)
    r.failure("m3", "MB", "8h", UNTIL + SECOND)
    r.forecast("m4", "MB", "1D", "canary", day(3))
    r.failure("m1", "MB", "8h", day(1))
    r.failure("m4", "MB", "1D", day(3))
    # Exactly at UNTIL: ME and MEW are the phase's symbols only through a forecast and windows there;
    # three run days come only from a forecast, windows and a failure there, each on its own horizon
    # (2h and 6h are no horizon of the job: the query does not read them, and they keep each run day
    # to one source).
    r.forecast("m5", "ME", "1D", "canary", UNTIL)
    r.window("m5", "MEW", "1D", "canary", UNTIL)
    r.forecast("m5", "MA", "4h", "canary", UNTIL)
    r.window("m5", "MA", "2h", "canary", UNTIL)
    r.failure("m5", "MA", "6h", UNTIL)


def _day_symbol(row: Mapping[str, Any]) -> tuple[int, str, str]:
    return (row["day"] - SINCE.date()).days, row["symbol"], row["horizon"]


MB_D1 = (1, "MB", "1D")  # MB has no 1D forecast on day 1, which has 1D runs: missing


def _missing_filters() -> tuple[Filter, ...]:
    ps, rd = "the phase's symbols", "the phase's run days"
    return (
        Filter(PHASE, f"{ps}: a prod symbol", (MB_D1,), ((1, "MP", "1D"),)),
        Filter(PHASE, f"{ps}: a symbol with a prod forecast only", (MB_D1,), ((2, "MQ", "1D"),)),
        Filter(AFTER_SINCE, f"{ps}: a forecast exactly at the start", (MB_D1,), ((1, "MS", "1D"),)),
        Filter(UP_TO_UNTIL, f"{ps}: forecasts exactly at and after the end", (MB_D1, (1, "ME", "1D")),
               ((1, "MU", "1D"),)),
        Filter(PHASE, f"{ps}: prod windows", (MB_D1,), ((1, "MV", "1D"),)),
        Filter(AFTER_SINCE, f"{ps}: windows exactly at the start", (MB_D1,), ((1, "MW", "1D"),)),
        Filter(UP_TO_UNTIL, f"{ps}: windows exactly at and after the end", (MB_D1, (1, "MEW", "1D")),
               ((1, "MX", "1D"),)),
        Filter(PHASE, f"{rd}: a prod forecast on another horizon", (MB_D1,), ((1, "MA", "4h"),)),
        Filter(AFTER_SINCE, f"{rd}: a forecast exactly at the start (day 0)", (MB_D1,), ((0, "MB", "1D"),)),
        Filter(UP_TO_UNTIL, f"{rd}: a 4h forecast exactly at, an 8h one after the end", (MB_D1, (2, "MB", "4h")),
               ((2, "MA", "8h"),)),
        Filter(PHASE, f"{rd}: prod windows on day 0", (MB_D1,), ((0, "MB", "1D"),)),
        Filter(AFTER_SINCE, f"{rd}: windows exactly at the start", (MB_D1,), ((0, "MB", "1D"),)),
        Filter(UP_TO_UNTIL, f"{rd}: 2h windows exactly at, 8h ones after the end", (MB_D1, (2, "MB", "2h")),
               ((2, "MA", "8h"),)),
        Filter("symbol IN (SELECT symbol FROM phase_symbols)", f"{rd}: a failure of a symbol not in the phase",
               (MB_D1,), ((0, "MB", "1D"),)),
        Filter(AFTER_SINCE, f"{rd}: a failure exactly at the start", (MB_D1,), ((0, "MB", "1D"),)),
        Filter(UP_TO_UNTIL, f"{rd}: a 6h failure exactly at, an 8h one after the end", (MB_D1, (2, "MB", "6h")),
               ((2, "MA", "8h"),)),
        Filter("(m.retired_at IS NULL OR d.day < (m.retired_at AT TIME ZONE 'UTC')::date)",
               "symbols retired on day 1 and on day 2", ((1, "MR2", "1D"),), ((1, "MR", "1D"),)),
        Filter("(m.listed_at IS NULL OR d.day >= (m.listed_at AT TIME ZONE 'UTC')::date)",
               "a symbol listed on day 2", ((2, "ML", "1D"),), ((1, "ML", "1D"),)),
        Filter("NOT EXISTS ( SELECT 1 FROM forecasts f WHERE f.symbol = s.symbol AND f.horizon = d.horizon "
               "AND (f.created_at AT TIME ZONE 'UTC')::date = d.day)", "MA forecast on day 1", (MB_D1,),
               ((1, "MA", "1D"),)),
        Filter("f.symbol = s.symbol", "another symbol's forecast that day", (MB_D1,)),
        Filter("f.horizon = d.horizon", "MB's 8h forecast that day", (MB_D1,)),
        Filter("(f.created_at AT TIME ZONE 'UTC')::date = d.day", "MB's 1D forecast on day 3", (MB_D1,)),
        Filter("NOT EXISTS ( SELECT 1 FROM forecast_failures x WHERE x.symbol = s.symbol AND x.horizon = d.horizon "
               "AND (x.created_at AT TIME ZONE 'UTC')::date = d.day)", "MF failed on day 1", (MB_D1,),
               ((1, "MF", "1D"),)),
        Filter("x.symbol = s.symbol", "another symbol's failure that day", (MB_D1,)),
        Filter("x.horizon = d.horizon", "MB's 8h failure that day", (MB_D1,)),
        Filter("(x.created_at AT TIME ZONE 'UTC')::date = d.day", "MB's 1D failure on day 3", (MB_D1,)),
    )


INF = float("inf")


def _run_figures(r: Rows) -> None:
    r.pair("rf", "RF1", "1D", "canary", day(1), window_id=0, test_rmse=0.011, baseline_rmse=0.010)
    r.window("rf", "RF1", "1D", "canary", day(1), window_id=1, divergence=0.3, overfitting=True)
    r.pair("rf", "RF1", "1D", "canary", SINCE, window_id=2, test_rmse=0.02)
    r.pair("rf", "RF1", "1D", "canary", UNTIL + SECOND, window_id=3, test_rmse=0.03)
    r.pair("rf", "RF1", "1D", "prod", day(1), window_id=4, test_rmse=0.04)
    r.window("rf", "RFN", "1D", "canary", day(1), window_id=0, divergence=-INF)
    r.window("rf", "RFN", "1D", "canary", day(1), window_id=1, divergence=INF)


def _figures(row: Mapping[str, Any]) -> tuple[Any, ...]:
    def num(v: Any) -> float | None:
        return None if v is None else round(float(v), 6)
    return (row["symbol"], row["windows_evaluated"], num(row["symbol_average_divergence"]),
            num(row["max_divergence"]), row["overfitting_windows"], num(row["rmse_vs_baseline"]))


# RF1: windows 0 (paired, 10% worse than its baseline) and 1 (30%, overfitting) count; RFN's two
# windows are infinite, so it has no average or maximum divergence.
RF1, RFN = ("RF1", 2, 0.175, 0.3, 1, 0.1), ("RFN", 2, None, None, 0, None)


def _gate_runs(r: Rows) -> None:
    r.forecast("g1", "G", "1D", "canary", day(1))
    r.window("g2", "G", "1D", "canary", day(2))
    r.forecast("g3", "G", "1D", "canary", UNTIL)
    r.window("g4", "G", "1D", "canary", UNTIL)
    r.forecast("gp", "G", "1D", "prod", day(0))
    r.forecast("gl", "G", "1D", "canary", day(4))
    r.window("gq", "G", "1D", "prod", day(0, 8))
    r.window("gb", "G", "1D", "canary", day(0, 10), baseline=True)
    r.window("gm", "G", "1D", "canary", day(5))
    # The images the runs recorded: g1 and g2 ran A, g3 another image, g4 an unknown one (NULL).
    for run_id, image in (("g1", IMAGE_A), ("g2", IMAGE_A), ("g3", image_ref("b")), ("g4", None)):
        r.run_image(run_id, image)


def _own_runs(row: Mapping[str, Any]) -> tuple[str | None, int, int, float | None, float | None]:
    """(the image asked for, runs, run days, first and last run in hours after D0)."""
    def hours(t: Any) -> float | None:
        return None if t is None else (t - day(0, 0)).total_seconds() / 3_600
    return row["image_ref"], int(row["runs"]), int(row["run_days"]), hours(row["first_run"]), hours(row["last_run"])


IMAGE_A = image_ref("a")
OWN = (None, 4, 2, 36.0, 66.0)  # runs g1, g2, g3 (a forecast at UNTIL) and g4 (windows at UNTIL) on days 1 and 2
OWN_A = (IMAGE_A, 2, 2, 36.0, 60.0)  # of them, image A's: g1 and g2
GATE_RUNS = {"phase": "canary", "until": UNTIL}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("review_window_stats", _window_stats, (WINDOW,), _symbol, (
        _window_filters()[0],
        Filter("NOT is_baseline", "a baseline-only symbol-horizon in the window", ("IN",), ("BASE",)),
        *_window_filters()[1:])),
    Scenario("review_baseline_rmse", _baseline, (WINDOW,), _symbol, _window_filters()),
    Scenario("review_forecast_counts", _counts, (WINDOW,), _symbol, _window_filters()),
    Scenario("review_failures", _failures, (WINDOW,), _symbol, (
        *_window_filters(phase=False),
        Filter("symbol IN (SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s))",
               "a failure of a prod symbol in the window", ("IN",), ("PROD",)),
        Filter(PHASE, "a failure of a prod symbol in the window", ("IN",), ("PROD",)))),
    Scenario("review_inconsistent_forecasts", _inconsistent, (WINDOW,), _symbol, (
        *_window_filters(),
        Filter("problem IS NOT NULL", "a consistent forecast in the window", ("IN",), ("OK",)))),
    Scenario("review_alert_storms", _alert_storms, ({**WINDOW, "critical": 0.3, "max_alerts": 5, "period_seconds": 3_600},), _storm, (
        Filter(PHASE, "a prod alert within the storm's hour", ((360, 6),), ((600, 7),)),
        Filter("NOT is_baseline", "a baseline window above critical within the hour", ((360, 6),), ((660, 7),)),
        Filter("divergence > %(critical)s", "a window exactly at the critical divergence (30%)", ((360, 6),),
               ((720, 7),)),
        Filter(AFTER_SINCE, "an alert exactly at the window's start", ((360, 6),), ((360, 7),)),
        Filter(UP_TO_UNTIL, "alerts exactly at and one second after the window's end", ((END, 6),), ((END + 1, 7),)),
        Filter("n > %(max_alerts)s", "5 alerts within an hour are not a storm, the sixth is", ((360, 6),),
               ((300, 5),)))),
    Scenario("review_logging_gaps", _logging_gaps, (WINDOW,), _gap, (
        Filter(PHASE, "runs: a prod run's forecast in the window", (GAP_W,), (("LGP", "P2", "1D", False, True),)),
        Filter(AFTER_SINCE, "runs: a forecast exactly at the start", (GAP_W,), (("LGS", "S", "1D", True, False),)),
        Filter(UP_TO_UNTIL, "runs: forecasts exactly at and after the end", (GAP_W, AT_UNTIL[0]),
               (("LGU", "U", "1D", True, False),)),
        Filter(PHASE, "runs: a prod run's windows in the window", (GAP_W,), (("LGQ", "Q2", "1D", True, False),)),
        Filter(AFTER_SINCE, "runs: windows exactly at the start", (GAP_W,), (("LGT", "T", "1D", False, True),)),
        Filter(UP_TO_UNTIL, "runs: windows exactly at and after the end", (GAP_W, AT_UNTIL[1]),
               (("LGV", "V", "1D", False, True),)),
        Filter("run_id IN (SELECT run_id FROM runs)", "forecasts of a run outside the window", (GAP_W,),
               (("LGS", "S", "1D", True, False),)),
        Filter(PHASE, "a prod forecast in a reviewed run", (GAP_W,), (("LG1", "X", "1D", True, False),)),
        Filter("run_id IN (SELECT run_id FROM runs)", "windows of a run outside the window", (GAP_W,),
               (("LGT", "T", "1D", False, True),)),
        Filter(PHASE, "prod windows in a reviewed run", (GAP_W,), (("LG1", "Y", "1D", False, True),)),
        Filter("NOT is_baseline", "baseline-only windows in a reviewed run", (GAP_W,),
               (("LG1", "Z", "1D", False, True),)),
        Filter("g.symbol = m.symbol", "a later forecast of another symbol", (GAP_W,), (W_FORECAST,)),
        Filter("g.horizon = m.horizon", "a later forecast of W on another horizon", (GAP_W,), (W_FORECAST,)),
        Filter("g.created_at >= m.windows_at", "forecasts of W 1D before, and of W3 exactly at, the windows",
               (GAP_W, ("LG4", "W3", "1D", True, True)), (W_FORECAST,)),
        Filter("g.run_id <> m.run_id", "the run's own forecast of W, of another phase", (GAP_W,), (W_FORECAST,)),
        Filter("NOT EXISTS ( SELECT 1 FROM forecast_failures x WHERE x.run_id = j.run_id AND x.symbol = j.symbol "
               "AND x.horizon = j.horizon)", "a symbol that failed in the run", (GAP_W,),
               (("LG1", "F", "1D", False, True),)),
        Filter("x.run_id = j.run_id", "a failure of W 1D in another run", (GAP_W,)),
        Filter("x.symbol = j.symbol", "a failure of another symbol in LG2", (GAP_W,)),
        Filter("x.horizon = j.horizon", "a failure of W on another horizon in LG2", (GAP_W,)))),
    Scenario("review_missing_forecasts", _missing, (WINDOW,), _day_symbol, _missing_filters()),
    Scenario("run_figures", _run_figures, (WINDOW,), _figures, (
        Filter("divergence > '-Infinity'::float8", "average: a window at -Infinity", (RFN,), (("RFN", 2, -INF, None, 0, None),)),
        Filter("divergence < 'Infinity'::float8", "average: a window at +Infinity", (RFN,), (("RFN", 2, INF, None, 0, None),)),
        Filter("divergence > '-Infinity'::float8", "maximum: a window at -Infinity", (RFN,), (("RFN", 2, None, -INF, 0, None),)),
        Filter("divergence < 'Infinity'::float8", "maximum: a window at +Infinity", (RFN,), (("RFN", 2, None, INF, 0, None),)),
        Filter("is_overfitting", "one of RF1's two windows overfits", (RF1,)),
        Filter("NOT is_baseline", "RF1's paired baseline row", (RF1,)),
        Filter(AFTER_SINCE, "windows: a paired window exactly at the start", (RF1,)),
        Filter(UP_TO_UNTIL, "windows: a paired window after the end", (RF1,)),
        Filter("(%(phases)s::text[] IS NULL OR rollout_phase = ANY(%(phases)s::text[]))", "windows: a prod pair", (RF1,)),
        Filter(AFTER_SINCE, "pairs: a paired window exactly at the start", (RF1,)),
        Filter(UP_TO_UNTIL, "pairs: a paired window after the end", (RF1,)),
        Filter("(%(phases)s::text[] IS NULL OR rollout_phase = ANY(%(phases)s::text[]))", "pairs: a prod pair", (RF1,)))),
    Scenario("gate_phase_runs", _gate_runs, ({**GATE_RUNS, "image_ref": None}, {**GATE_RUNS, "image_ref": IMAGE_A}),
             _own_runs, (
        Filter("rollout_phase = %(phase)s", "forecasts: a prod run on day 0", (OWN,), ((None, 5, 3, 12.0, 66.0),)),
        Filter(UP_TO_UNTIL, "forecasts: at and after the time asked", (OWN,), ((None, 5, 3, 36.0, 108.0),)),
        Filter("rollout_phase = %(phase)s", "windows: a prod run on day 0", (OWN,), ((None, 5, 3, 8.0, 66.0),)),
        Filter("NOT is_baseline", "windows: a baseline-only run on day 0", (OWN,), ((None, 5, 3, 10.0, 66.0),)),
        Filter(UP_TO_UNTIL, "windows: at and after the time asked", (OWN,), ((None, 5, 3, 36.0, 132.0),)),
        Filter("(%(image_ref)s::text IS NULL OR run_id IN (SELECT run_id FROM forecast_runs WHERE image_ref = "
               "%(image_ref)s::text))", "image A: g3 ran another image, g4 an unknown one; no image: every run",
               (OWN_A, OWN), ((IMAGE_A, 4, 2, 36.0, 66.0),)),
        Filter("image_ref = %(image_ref)s::text", "image A: not g3 (another image) nor g4 (unknown)", (OWN_A,),
               ((IMAGE_A, 4, 2, 36.0, 66.0),))), with_params=True),
)
