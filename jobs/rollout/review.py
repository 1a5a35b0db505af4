"""End-of-phase review: read the phase's rows, then decide PROCEED, MONITOR or ROLLBACK.

The command ``python -m jobs.rollout_review`` writes the reports and maps the decision to its
exit status; this module only reads and decides (no printing, no files).
"""

from __future__ import annotations

from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Review, evaluate
from jobs.rollout.data import ReviewData, load_review_data


def review(url: str, phase: str, days: int, thresholds: Thresholds, require_baseline: bool = True
           ) -> tuple[Review, ReviewData]:
    """Read the database and decide; the public entry point for other code."""
    data = load_review_data(url, phase, days, thresholds)
    return evaluate(phase, days, data.stats, data.incidents, thresholds, require_baseline, data.run_days,
                    data.run_shares), data
