"""A fleet soak: a simulated month of daily prod runs with the events any vendor's data brings.

``python -m bench.soak [--symbols 104] [--days 21] [--workers 2]`` starts a temporary embedded
PostgreSQL, delivers each day's bars for a fleet of simulated symbols, runs the real job
(``jobs.unified_forecast_job.main``) as prod's stack would (``ROLLOUT_PHASE=prod``, ``--as-of``
the day), then the real review, and prints the figures. ``tests/integration/test_fleet_soak.py``
runs the same harness on 12 symbols and asserts what it must show.

The events, each given to its own symbols (``ROLES``): weekly earnings gaps (about 32 robust
scales, real moves), a 25-session halt, a new listing with 40 bars, a delisting (dropped from
the stack's list), an unadjusted 2:1 split (fixed by re-importing adjusted history on its 5th
day), a x1e4 print (corrected on its 3rd day), a feed that goes stale, and one symbol whose
model code is broken (an off-by-one model registered through the model registry, run in its own
job group from the last week, as a high-value symbol added with a bad release would). Fast
settings keep it cheap: the job's own ``ENABLE_WALK_FORWARD=false`` (one window) and ARIMA_GARCH + RF.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobs.contract.domain import Model
from jobs.forecasting.models import register_model
from jobs.forecasting.series import PRICE_COLUMNS, robust_scale
from jobs.storage.bars import import_bars
from jobs.storage.db import connect
from jobs.storage.sample_data import SIM_END, simulated_bars
from jobs.unified_forecast_job import main as run_job

ROLES = ("gaps", "halt", "new-listing", "delisting", "split", "spike", "stale", "unknown", "broken")
# Soak days (indices into the month's sessions) of each event.
SPLIT_DAY, SPLIT_FIX = 5, 9
SPIKE_DAY, SPIKE_FIX = 12, 14
HALT = (-10, 14)  # sessions without bars: 25, ten of them before the month starts
STALE_AFTER = 4
DELIST_AFTER = 2
LISTED_FROM = 5  # the new listing joins the stack's list that day, with 40 bars of history
BROKEN_FROM = 16
NEW_LISTING_BARS = 40
# An earnings gap of this many robust scales of the bars before the month: a large move (above 25).
# A fall stops at MAX_FALL (-42%), clear of a 2:1 split's ratio.
GAP_SCALES = 36.0
MAX_FALL = 0.55
FAST = {"ENSEMBLE_MODEL_COUNT": "2", "ENABLE_LSTM": "false", "ENABLE_RF": "true", "ENABLE_WALK_FORWARD": "false",
        "BASELINE_MODELS": "none", "ENSEMBLE_OPTIMIZATION_METHOD": "simple_avg", "TORCH_NUM_THREADS": "1"}
BROKEN_GROUP = {**FAST, "ENSEMBLE_MODEL_COUNT": "3", "ENABLE_GB": "true"}  # GB's slot runs the broken model


@dataclass(frozen=True)
class Fleet:
    """The symbols with their roles, the month's sessions, and each gap symbol's gaps (day -> size)."""

    roles: dict[str, str]
    days: pd.DatetimeIndex
    gaps: dict[str, dict[int, float]] = field(default_factory=dict)

    def of(self, role: str) -> list[str]:
        """The symbols playing ``role``."""
        return [s for s, r in self.roles.items() if r == role]

    def listed(self, day: int) -> list[str]:
        """The stack's symbols on ``day``: a delisted symbol leaves the list the day after its last bar,
        the new listing joins it on ``LISTED_FROM``, the broken symbol (a high-value symbol added with a
        bad release) on ``BROKEN_FROM``."""
        return [s for s, r in self.roles.items()
                if not (r == "delisting" and day > DELIST_AFTER) and not (r == "new-listing" and day < LISTED_FROM)
                and not (r == "broken" and day < BROKEN_FROM)]


def make_fleet(n_symbols: int, n_days: int = 21) -> Fleet:
    """``n_symbols`` symbols: each event role once per 50 symbols (at least once), the rest with earnings gaps.

    The gap symbols report earnings in turn: every week of the month some of them gap, alternately
    up and down (with two gap symbols, each gaps every other week).
    """
    if n_symbols < len(ROLES) + 1:
        raise ValueError(f"--symbols={n_symbols} is invalid: expected at least {len(ROLES) + 1}")
    copies = max(1, n_symbols // 50)
    roles: dict[str, str] = {}
    for role in ROLES[1:]:
        for k in range(copies):
            roles[f"{role.replace('-', '')[:6].upper()}{k}"] = role
    gap_symbols = [f"GAP{k:03d}" for k in range(n_symbols - len(roles))]
    roles.update(dict.fromkeys(gap_symbols, "gaps"))
    days = pd.DatetimeIndex(simulated_bars("X", "1d")["ts"].iloc[-n_days:]).tz_localize(None)
    weeks = max(1, (n_days - 2 + 4) // 5)
    per_week = max(1, math.ceil(len(gap_symbols) / weeks))
    gaps: dict[str, dict[int, float]] = {}
    for week in range(weeks):
        for j in range(per_week):
            n = week * per_week + j
            day = min(2 + 5 * week + j % 3, n_days - 1)
            symbol = gap_symbols[n % len(gap_symbols)]
            own = gaps.setdefault(symbol, {})
            own[day] = -1.0 if (len(own) + n) % 2 else 1.0  # the sign; the size comes from the series
    return Fleet(roles, days, gaps)


def true_bars(fleet: Fleet, symbol: str) -> pd.DataFrame:
    """The symbol's correct, split-adjusted bars (the sample's GARCH series with its real gaps)."""
    frame = simulated_bars(symbol, "1d").reset_index(drop=True)
    first = len(frame) - len(fleet.days)
    scale = robust_scale(np.diff(np.log(frame["close"].to_numpy()[first - 650: first])))
    for day, sign in fleet.gaps.get(symbol, {}).items():
        size = GAP_SCALES * scale if sign > 0 else -min(GAP_SCALES * scale, MAX_FALL)
        frame.loc[first + day:, list(PRICE_COLUMNS)] *= math.exp(size)
    return frame


def delivered(fleet: Fleet, symbol: str, day: int) -> pd.DataFrame:
    """What the vendor has delivered for ``symbol`` by ``day`` (as it delivers it: damage included)."""
    frame = true_bars(fleet, symbol)
    first = len(frame) - len(fleet.days)
    role = fleet.roles[symbol]
    if role == "unknown":  # a symbol in the stack's list that no vendor delivers (a typo)
        return frame.iloc[:0]
    keep = np.arange(len(frame)) <= first + day
    if role == "halt":
        keep &= ~((np.arange(len(frame)) >= first + HALT[0]) & (np.arange(len(frame)) <= first + HALT[1]))
    elif role == "new-listing":
        keep &= np.arange(len(frame)) >= first + LISTED_FROM - NEW_LISTING_BARS
    elif role == "stale":
        keep &= np.arange(len(frame)) <= first + STALE_AFTER
    elif role == "delisting":
        keep &= np.arange(len(frame)) <= first + DELIST_AFTER
    elif role == "split" and day < SPLIT_FIX:  # unadjusted history until the vendor re-delivers it
        frame.loc[:first + SPLIT_DAY - 1, list(PRICE_COLUMNS)] *= 2.0
    elif role == "spike" and SPIKE_DAY <= day < SPIKE_FIX:
        frame.loc[first + SPIKE_DAY, list(PRICE_COLUMNS)] *= 1e4
    return frame.loc[keep].reset_index(drop=True)


def deliver(url: str, fleet: Fleet, day: int) -> None:
    """Store what each symbol's vendor delivered by ``day``: new bars, and on a fix day the corrected ones."""
    fixing = {SPLIT_FIX: "split", SPIKE_FIX: "spike"}.get(day)
    with connect(url) as conn, conn.transaction():
        for symbol, role in fleet.roles.items():
            frame = delivered(fleet, symbol, day).assign(symbol=symbol, line=0)
            if frame.empty:
                continue
            if day > 0 and role != fixing:
                frame = frame[frame["ts"] > pd.Timestamp(fleet.days[day - 1], tz="UTC")]
            import_bars(conn, frame, "1d", "simulated: fleet soak", replace=role == fixing)


@dataclass
class Soak:
    """What the month produced: each run's exit status, every metric datum published, seconds per day."""

    exits: dict[str, int] = field(default_factory=dict)
    datums: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def metric(self, name: str, **dims: str) -> float:
        """The sum of metric ``name`` under exactly the dimensions ``dims`` (e.g. ``Stack="prod"``)."""
        return sum(v * c for d in self.datums if d["metric"] == name and d["dimensions"] == dims
                   for v, c in zip(d["values"], d["counts"], strict=True))


class _Collect(logging.Handler):
    """Keeps the metric records the publisher logs (without AWS credentials it logs what it would send)."""

    def __init__(self, into: list[dict[str, Any]]) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields.get("event") == "metric":
            self.into.append(fields)


@contextmanager
def broken_model() -> Iterator[None]:
    """GB's registry entry runs ``bench.broken_model.OffByOneModel`` for the ``with`` block."""
    previous = register_model(Model.GB, "bench.broken_model", "OffByOneModel")
    try:
        yield
    finally:
        register_model(Model.GB, *previous)


def run_soak(url: str, fleet: Fleet, workers: int = 1, env: Mapping[str, str] | None = None) -> Soak:
    """Deliver, run the core group and (from ``BROKEN_FROM``) the broken group, every day of the month."""
    soak = Soak()
    handler = _Collect(soak.datums)
    log = logging.getLogger("jobs.monitoring.publisher")
    log.addHandler(handler)
    try:
        for day, session in enumerate(fleet.days):
            started = time.perf_counter()
            deliver(url, fleet, day)
            listed = fleet.listed(day)
            broken = [s for s in fleet.of("broken") if s in listed]
            core = [s for s in listed if s not in broken]
            base = {**FAST, **(env or {}), "DATABASE_URL": url, "ROLLOUT_PHASE": "prod", "DEPLOY_STACK": "prod",
                    "STACK_SYMBOLS": ",".join(listed)}
            soak.exits[f"core-{day:02d}"] = _run(core, day, session, "core", base, workers)
            if broken:
                with broken_model():  # in this process: that group runs with one worker
                    soak.exits[f"hv-{day:02d}"] = _run(broken, day, session, "hv", {**base, **BROKEN_GROUP}, 1)
            soak.seconds.append(time.perf_counter() - started)
    finally:
        log.removeHandler(handler)
    return soak


def _run(symbols: list[str], day: int, session: pd.Timestamp, group: str, env: dict[str, str], workers: int) -> int:
    argv = ["--symbols", ",".join(symbols), "--horizon", "1D", "--workers", str(workers),
            "--run-id", f"soak-{group}-{day:02d}", "--as-of", f"{session:%Y-%m-%d}"]
    return run_job(argv, env)


def failures(url: str) -> list[dict[str, Any]]:
    """Every recorded failure of the soak, oldest first."""
    with connect(url) as conn:
        return conn.execute("SELECT run_id, symbol, failure_class, cause, reason FROM forecast_failures "
                            "ORDER BY created_at, symbol").fetchall()


def main(argv: list[str] | None = None) -> None:
    """Run the soak on a temporary database and print its figures."""
    import pgserver

    from jobs.contract.thresholds import Thresholds
    from jobs.rollout.review import review
    from jobs.storage.db import migrate

    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=104, help="fleet size (default 104, prod's)")
    parser.add_argument("--days", type=int, default=21, help="sessions in the month (default 21)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the core group (default 2)")
    args = parser.parse_args(argv)
    fleet = make_fleet(args.symbols, args.days)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp, \
            pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop") as server:
        url = server.get_uri()
        migrate(url)
        # The job's own output (a table and progress lines per run) goes to a file; the figures below.
        with (Path(tmp) / "jobs.log").open("w") as out, redirect_stdout(out), redirect_stderr(out):
            soak = run_soak(url, fleet, args.workers)
        result, _ = review(url, "prod", 1, Thresholds(), require_baseline=False)
        rows = failures(url)
    report(fleet, soak, result, rows)


def report(fleet: Fleet, soak: Soak, result: Any, rows: list[dict[str, Any]]) -> None:
    """Print the soak's figures."""
    prod = {"Stack": "prod"}
    print(f"{len(fleet.roles)} symbols ({', '.join(f'{n} {r}' for r, n in Counter(fleet.roles.values()).items())}), "
          f"{len(fleet.days)} daily runs {fleet.days[0]:%Y-%m-%d} to {fleet.days[-1]:%Y-%m-%d}")
    print(f"seconds per day: median {np.median(soak.seconds):.1f}, max {max(soak.seconds):.1f}, "
          f"total {sum(soak.seconds):.0f}; exit statuses {dict(Counter(soak.exits.values()))}")
    for name in ("ForecastsExpected", "ForecastsWritten", "DataIncidents", "QuarantinedTasks", "PipelineFailures",
                 "DataEvents", "CriticalAlerts"):
        print(f"  {name}: {soak.metric(name, **prod):.0f}")
    causes = Counter(r["cause"] or "-" for r in rows if r["failure_class"] == "data")
    print(f"data failures by cause: {dict(sorted(causes.items()))}")
    print(f"review: {result.decision.value}")
    for check in result.checks:
        print(f"  {check.name}: {check.status.value}: {check.summary}")
    print(f"reported once each: {sum(i.kind == 'data' for i in result.incidents)} data incidents, "
          f"{sum(i.kind == 'quarantined' for i in result.incidents)} quarantined, "
          f"{sum(i.kind == 'event' for i in result.incidents)} real moves kept")


if __name__ == "__main__":
    main()
