"""The forecast job: ``python -m jobs.unified_forecast_job --symbols AAPL,MSFT,SPY --horizon 1D``.

Exit status: 0 every symbol forecast or refused as a data incident (recorded and reported); 1 a
symbol-horizon of the run failed in code (a pipeline failure, in this attempt or, for a retry, in an
earlier one) or the database was unreachable; 2 bad input (configuration, environment, command line),
reported before any row is written; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM): workers
stopped, the same ``--run-id`` resumes.
The plan is ``jobs.running.plan``; the run (resume, compute, publish then stamp) ``jobs.running.run``.
"""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

from jobs.cli import EXIT_FAULT, EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.forecasting.results import DATA, PIPELINE, QUARANTINED
from jobs.monitoring.publisher import RunPublisher
from jobs.running.intake import unknown_symbols
from jobs.running.logs import log_metrics_to, setup_logging
from jobs.running.plan import Plan, Request, make_plan
from jobs.running.run import RunResult, prepare_database, run
from jobs.running.signals import resume_hint, set_rerun_hint
from jobs.running.summary import print_summary


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.unified_forecast_job", description=__doc__.splitlines()[0])
    p.add_argument("--symbols", help="comma-separated symbols (default: ROLLOUT_SYMBOLS, else CANARY_SYMBOLS)")
    p.add_argument("--horizon", help=f"comma-separated horizons from {', '.join(HORIZONS)} "
                                     "(default: ROLLOUT_HORIZONS, else CANARY_HORIZONS)")
    p.add_argument("--workers", default=None, help="worker processes (default: one per core)")
    p.add_argument("--run-id", default=None, help="run id (default: the Batch job id, else derived from the "
                                                  "configuration and the date, so a re-run is the same run)")
    p.add_argument("--shard", default=None, metavar="INDEX/COUNT",
                   help="run only this shard of the symbols, e.g. 0/4 (default: AWS_BATCH_JOB_ARRAY_INDEX/SIZE)")
    p.add_argument("--sample-data", choices=("auto", "never"), default="auto",
                   help="auto: seed labelled sample bars into an empty local database (ROLLOUT_PHASE=local)")
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                   help="the run's date, which MAX_STALE_SESSIONS measures each symbol's last bar against "
                        "(default: today where EXCHANGE_CALENDAR trades; a retry of a run keeps its first "
                        "attempt's date)")
    return p


def plan_from(argv: Sequence[str], env: Mapping[str, str], now: datetime | None = None) -> Plan:
    """Parse the command line and the environment into the run's plan; raise on bad input."""
    args = build_parser().parse_args(list(argv))
    request = Request(args.symbols, args.horizon, args.workers, args.run_id, args.shard, args.sample_data == "auto",
                      args.as_of)
    return make_plan(JobConfig.from_env(env), request, now)


def failure_lines(result: RunResult) -> list[str]:
    """The stderr lines of a run: each warning, data incident and failure, whichever attempt recorded it.

    An unknown symbol is named once, whatever its horizons (a typo in a list of 500 is 500 names, not
    1,500 failures). Data incidents (input refused) say so; pipeline failures (code raised) and tasks
    not recorded are errors.
    """
    lines = [f"warning: {w}" for o in result.outcomes for w in o.warnings]
    lines += [f"data incident: unknown symbol {s}: no bars stored, nothing fitted" for s in unknown_symbols(result.outcomes)]
    for o in result.outcomes:
        if o.ok or o.cause == "unknown-symbol" and o.recorded:
            continue
        if not o.recorded:
            lines.append(f"error: {o.symbol} {o.horizon}: {o.error} (not recorded: a retry of this run computes it)")
        elif o.failure == PIPELINE:
            lines.append(f"error: {o.symbol} {o.horizon}: {o.error}")
        else:
            kind = "quarantined" if o.cause == QUARANTINED else "data incident"
            lines.append(f"{kind}: {o.symbol} {o.horizon}: {o.error}")
    earlier_unknown: dict[str, str] = {}
    for t in result.earlier_failures:
        who = f"attempt {t.attempt}" if t.attempt is not None else "an earlier attempt"
        if t.cause == "unknown-symbol":
            earlier_unknown.setdefault(t.symbol, who)
        elif t.failure_class == DATA:
            lines.append(f"data incident: {t.symbol} {t.horizon}: refused, recorded by {who} of this run: {t.reason}")
        else:
            lines.append(f"error: {t.symbol} {t.horizon}: failed, recorded by {who} of this run: {t.reason}; a "
                         "retry does not recompute a recorded failure: run again with a new --run-id")
    lines += [f"data incident: unknown symbol {s}: no bars stored, nothing fitted (recorded by {who} of this run)"
              for s, who in earlier_unknown.items()]
    return lines


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, now: datetime | None = None) -> int:
    """Run the job; return the exit status. ``now``: the clock for today's date (the current time when None)."""
    environ = os.environ if env is None else env
    setup_logging()

    def body() -> int:
        plan = plan_from(argv_or_sys(argv), environ, now)
        set_rerun_hint(resume_hint(plan.run_id))
        started = time.perf_counter()
        url, plan = prepare_database(plan)
        if not plan.cfg.database_url:
            # With the embedded database, metric lines go to a file beside it: the screen shows the run.
            # Attached only now, so bad input creates neither the data folder nor the file.
            log_metrics_to(plan.cfg.data_dir / "metrics.jsonl")
        result = run(plan, url, RunPublisher(plan.cfg, plan.run_id))
        print_summary(result.outcomes, plan.run_id, plan.cfg, time.perf_counter() - started)
        if note := result.resume_note(plan.run_id):
            print(note)
        for line in failure_lines(result):
            print(line, file=sys.stderr)
        return EXIT_FAULT if result.failed else EXIT_OK

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
