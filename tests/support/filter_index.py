"""Every filter scenario (``tests.support.sql_filters``), by the query it runs: the review's, the jobs', the claims', the data incidents'."""

from __future__ import annotations

from tests.support.filter_data import SCENARIOS as DATA_SCENARIOS
from tests.support.filter_jobs import SCENARIOS as JOB_SCENARIOS
from tests.support.filter_review import SCENARIOS as REVIEW_SCENARIOS
from tests.support.filter_tasks import SCENARIOS as TASK_SCENARIOS
from tests.support.sql_filters import Scenario

SCENARIOS: dict[str, Scenario] = {s.query: s for s in (*REVIEW_SCENARIOS, *JOB_SCENARIOS, *TASK_SCENARIOS, *DATA_SCENARIOS)}


def scenario_for(name: str) -> Scenario | None:
    """The scenario of query ``name``, or of the query that calls the migrations' function ``name``."""
    return SCENARIOS.get(name) or next((s for s in SCENARIOS.values() if s.routine == name), None)
