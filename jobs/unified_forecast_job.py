"""The forecast job: ``python -m jobs.unified_forecast_job --symbols AAPL,MSFT,SPY --horizon 1D``.

Exit status: 0 every symbol forecast; 1 a symbol-horizon of the run failed (in this attempt or, for a
retry, in an earlier one) or the database was unreachable; 2 bad input (configuration, environment,
command line), reported before any row is written; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM):
workers stopped, the same ``--run-id`` resumes.
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

from jobs.cli import EXIT_FAULT, EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.monitoring.publisher import RunPublisher
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
    return p


def plan_from(argv: Sequence[str], env: Mapping[str, str]) -> Plan:
    """Parse the command line and the environment into the run's plan; raise on bad input."""
    args = build_parser().parse_args(list(argv))
    request = Request(args.symbols, args.horizon, args.workers, args.run_id, args.shard, args.sample_data == "auto")
    return make_plan(JobConfig.from_env(env), request)


def failure_lines(result: RunResult) -> list[str]:
    """One line per failed symbol-horizon of the run, whichever attempt recorded it; one per horizon for
    symbols without bars (a typo in a list of 500 is one line, not 500)."""
    lines = []
    for horizon, symbols in result.unknown.items():
        shown = ", ".join(symbols[:10]) + (f" and {len(symbols) - 10} more" if len(symbols) > 10 else "")
        timeframe = HORIZONS[horizon].timeframe
        lines.append(f"{len(symbols)} unknown symbol(s) at {horizon}, no {timeframe} bars stored: {shown}; "
                     f"import their bars with `python -m jobs.load_bars FILE.csv --timeframe {timeframe}`")
    unknown = {(s, h) for h, symbols in result.unknown.items() for s in symbols}
    for o in result.outcomes:
        if not o.ok and (o.symbol, o.horizon) not in unknown:
            retry = "" if o.recorded else " (not recorded: a retry of this run computes it)"
            lines.append(f"{o.symbol} {o.horizon}: {o.error}{retry}")
    for t in result.earlier_failures:
        who = f"attempt {t.attempt}" if t.attempt is not None else "an earlier attempt"
        lines.append(f"{t.symbol} {t.horizon}: failed, recorded by {who} of this run: {t.reason}; a retry does "
                     "not recompute a recorded failure: run again with a new --run-id")
    return lines


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the job; return the exit status."""
    environ = os.environ if env is None else env
    setup_logging()

    def body() -> int:
        plan = plan_from(argv_or_sys(argv), environ)
        set_rerun_hint(resume_hint(plan.run_id))
        started = time.perf_counter()
        url = prepare_database(plan)
        if not plan.cfg.database_url:
            # With the embedded database, metric lines go to a file beside it: the screen shows the run.
            # Attached only now, so bad input creates neither the data folder nor the file.
            log_metrics_to(plan.cfg.data_dir / "metrics.jsonl")
        result = run(plan, url, RunPublisher(plan.cfg, plan.run_id))
        unknown = {(s, h) for h, symbols in result.unknown.items() for s in symbols}
        print_summary([o for o in result.outcomes if (o.symbol, o.horizon) not in unknown], plan.run_id, plan.cfg,
                      time.perf_counter() - started)
        if note := result.resume_note(plan.run_id):
            print(note)
        for line in failure_lines(result):
            print(f"error: {line}", file=sys.stderr)
        return EXIT_FAULT if result.failed else EXIT_OK

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
