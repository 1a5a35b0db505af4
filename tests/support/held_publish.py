"""One symbol's ``PutMetricData`` held or failed at botocore's seam: for the resume fault tests.

``python -m tests.support.held_publish {before,after} SYMBOL MARKER -- JOB ARGS...`` runs
``jobs.unified_forecast_job`` unchanged, with one botocore event handler on the default boto3
session (the one the job's CloudWatch client is made from). When the job publishes the
``ForecastsWritten`` of SYMBOL, the handler writes MARKER and then blocks for good:
``before`` the call is sent (the task's rows and publish stamp have committed, its metrics are
not out), or ``after`` CloudWatch accepted it (before the job lets go of the task's claim). The
test then kills the process at exactly that step. Nothing of the job is replaced.

``failing_publish(SYMBOL)`` makes the call that publishes SYMBOL's ``ForecastsWritten`` fail in
this process, as CloudWatch failing it after botocore's retries would (``ClientError``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jobs.contract.metrics import DIM_SYMBOL, FORECASTS_WRITTEN


def _writes(params: dict[str, Any], symbol: str) -> bool:
    """Whether a ``PutMetricData`` request holds ``ForecastsWritten`` of ``symbol``."""
    return any(d["MetricName"] == FORECASTS_WRITTEN and {"Name": DIM_SYMBOL, "Value": symbol} in d.get("Dimensions", [])
               for d in params.get("MetricData", []))


def hold(when: str, symbol: str, marker: Path) -> None:
    """Register the handler that blocks the job at ``when`` (``before`` or ``after``) publishing ``symbol``."""
    import boto3

    if when not in ("before", "after"):
        raise ValueError(f"when={when!r} is invalid: expected before or after")
    seen: dict[int, bool] = {}

    def block() -> None:
        marker.write_text(when)
        threading.Event().wait()  # until the test kills this process

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        seen[id(context)] = _writes(params, symbol)
        if when == "before" and seen[id(context)]:
            block()

    def after(context: dict[str, Any], **_: Any) -> None:
        if seen.pop(id(context), False):
            block()

    boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-parameter-build.cloudwatch.PutMetricData", before)
    if when == "after":
        events.register("after-call.cloudwatch.PutMetricData", after)


@contextmanager
def failing_publish(symbol: str) -> Iterator[list[str]]:
    """Every publish of ``symbol``'s ``ForecastsWritten`` fails while inside; yields the symbols it failed."""
    import boto3
    from botocore.exceptions import ClientError

    failed: list[str] = []

    def fail(params: dict[str, Any], **_: Any) -> None:
        if _writes(params, symbol):
            failed.append(symbol)
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected: CloudWatch failed"},
                               "ResponseMetadata": {"HTTPStatusCode": 500}}, "PutMetricData")

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.cloudwatch.PutMetricData", fail)  # type: ignore[union-attr]
    try:
        yield failed
    finally:
        boto3.DEFAULT_SESSION = None  # the next client comes from a fresh session, without the handler


def main(argv: Sequence[str]) -> int:
    """``{before,after} SYMBOL MARKER -- JOB ARGS...``; the job's exit status (if it is ever let go)."""
    if len(argv) < 4 or argv[3] != "--":
        raise SystemExit("usage: python -m tests.support.held_publish {before,after} SYMBOL MARKER -- JOB ARGS...")
    hold(argv[0], argv[1], Path(argv[2]))
    from jobs.unified_forecast_job import main as job

    return job(list(argv[4:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
