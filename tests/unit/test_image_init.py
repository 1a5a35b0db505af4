"""The job image runs the job under tini, so Batch's SIGTERM reaches it even while it is PID 1."""

from __future__ import annotations

import json
from pathlib import Path

DOCKERFILE = (Path(__file__).resolve().parents[2] / "jobs" / "Dockerfile").read_text()
INSTRUCTIONS = [line.strip() for line in DOCKERFILE.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_tini_is_pid_1_and_runs_the_forecast_job() -> None:
    (entry,) = [i for i in INSTRUCTIONS if i.startswith("ENTRYPOINT")]
    argv = json.loads(entry.removeprefix("ENTRYPOINT"))
    # Exec form (a shell would be PID 1 and swallow the signal); -s: still reaps under the job
    # definition's own init (initProcessEnabled) without tini's "not PID 1" warning.
    assert argv == ["tini", "-s", "--", "python", "-m", "jobs.unified_forecast_job"]


def test_tini_comes_from_the_base_images_apt_without_extras_or_a_left_over_index() -> None:
    install = DOCKERFILE[DOCKERFILE.index("RUN apt-get update"):]
    install = install[:install.index("\n\n")]
    assert "apt-get install -y --no-install-recommends tini" in install
    assert install.rstrip().endswith("rm -rf /var/lib/apt/lists/*"), install
    assert DOCKERFILE.index("RUN apt-get update") < DOCKERFILE.index("ENTRYPOINT")
