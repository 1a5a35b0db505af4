"""The end-of-run summary table: coverage per symbol, a leak named as such."""

from __future__ import annotations

from rich.console import Console

from jobs.contract.config import JobConfig
from jobs.contract.thresholds import LEAK_DIVERGENCE
from jobs.running.summary import summary_table
from tests.unit.test_metrics import outcome


def render(*outcomes: object) -> str:
    console = Console(record=True, width=250)
    console.print(summary_table(list(outcomes), "run-1", JobConfig(), 1.0))  # type: ignore[arg-type]
    return console.export_text()


def test_summary_shows_mean_coverage_and_names_a_leak() -> None:
    text = render(outcome("AAPL", [0.05, 0.1], coverage=0.875), outcome("MSFT", [0.05, LEAK_DIVERGENCE]),
                  outcome("SPY", [0.05], coverage=None))
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    header = [c.strip() for c in next(line for line in text.splitlines() if "divergence" in line).split("┃")[1:-1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in cells}
    assert (rows["AAPL"]["divergence"], rows["AAPL"]["coverage"]) == ("+7.5%", "88%")
    assert (rows["MSFT"]["divergence"], rows["MSFT"]["coverage"]) == ("leak", "90%")
    assert rows["SPY"]["coverage"] == "–"  # no coverage recorded
