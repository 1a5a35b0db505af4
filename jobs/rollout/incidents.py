"""Data incidents, quarantined symbols and real moves as the review reports them: each one once.

A data incident (a symbol-horizon's input refused) is one line per symbol, horizon and cause,
however many runs it lasted; a quarantined symbol one line; a real large move kept one line. The
rows come from ``review_failures``, ``review_quarantined``, ``review_data_events`` and
``review_run_shares`` (``sql/queries``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from jobs.forecasting.results import DATA, QUARANTINED
from jobs.rollout.checks import Incident, RunShare


def pipeline_incidents(failures: Iterable[dict[str, Any]]) -> list[Incident]:
    """One incident per pipeline failure (code raised), with its run and reason: the rollback trigger's findings."""
    return [Incident("failure", r["symbol"], r["horizon"],
                     f"run {r['run_id']} failed at {r['created_at']:%Y-%m-%d %H:%M}Z: {r['reason']}")
            for r in failures if r["failure_class"] != DATA]


def data_incidents(failures: Sequence[dict[str, Any]], quarantined: Sequence[dict[str, Any]],
                   events: Sequence[dict[str, Any]]) -> list[Incident]:
    """Data incidents grouped by symbol, horizon and cause; quarantined symbols; real moves kept."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    held: Counter[str] = Counter()
    for r in failures:
        if r["failure_class"] != DATA:
            continue
        if r["cause"] == QUARANTINED:
            held[r["symbol"]] += 1
        else:
            groups[(r["symbol"], r["horizon"], r["cause"] or "bad-bars")].append(r)
    out = []
    for (symbol, horizon, cause), rows in sorted(groups.items()):
        first, last = rows[0]["created_at"], rows[-1]["created_at"]
        span = f"{first:%Y-%m-%d %H:%M}Z" if len(rows) == 1 else f"{first:%Y-%m-%d %H:%M}Z to {last:%Y-%m-%d %H:%M}Z"
        out.append(Incident("data", symbol, horizon, f"{cause} in {len(rows)} run(s), {span}; latest: "
                                                     f"{rows[-1]['reason']}"))
    now = {r["symbol"]: r for r in quarantined}
    for symbol in sorted(set(now) | set(held)):
        state = (f"quarantined since {now[symbol]['quarantined_at']:%Y-%m-%d %H:%M}Z: "
                 f"{now[symbol]['quarantine_reason']}" if symbol in now else "was quarantined, now rejoined")
        out.append(Incident("quarantined", symbol, "", f"{state} ({held[symbol]} task(s) held, no fit)"))
    out += [Incident("event", e["symbol"], e["horizon"],
                     f"{e['timeframe']} bar {e['ts']:%Y-%m-%d %H:%M}Z: {e['change']:+.1%} from the bar before "
                     f"({e['robust_scales']:.0f} robust scales), a real move kept (first seen by run {e['run_id']})")
            for e in events]
    return out


def data_counts(failures: Iterable[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """Data incidents (quarantined tasks aside) per symbol-horizon: the review table's column."""
    return Counter((r["symbol"], r["horizon"]) for r in failures
                   if r["failure_class"] == DATA and r["cause"] != QUARANTINED)


def run_shares(rows: Iterable[dict[str, Any]]) -> tuple[RunShare, ...]:
    """Each run's refused symbols over the symbols it ran (``review_run_shares``)."""
    return tuple(RunShare(r["run_id"], int(r["symbols"]), tuple(r["refused"] or ())) for r in rows)
