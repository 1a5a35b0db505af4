"""The review CLI refuses bad input with one line and exit 2."""

from __future__ import annotations

import pytest

from jobs import rollout_review


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: --phase"),
    (["--phase", "beta"], "argument --phase: invalid choice: 'beta'"),
    (["--phase", "canary", "--days", "0"], "'0' is invalid: expected a whole number of days from 1 to 365"),
    (["--phase", "canary", "--days", "week"], "'week' is invalid"),
    (["--phase", "canary", "--divergence-proceed", "15%"], "'15%' is not a number (use a fraction, e.g. 0.15 for 15%)"),
    (["--phase", "canary", "--divergence-proceed", "0.3"], "--divergence-proceed=0.3 must be below DIVERGENCE_ROLLBACK_THRESHOLD"),
    (["--phase", "canary", "--rmse-rollback", "0.01"], "RMSE_ESCALATION_THRESHOLD=0.05 must be below --rmse-rollback=0.01"),
])
def test_bad_cli_input_exits_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # No database is needed: input is checked before connecting.
    assert rollout_review.main(argv, env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_bad_database_url_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert rollout_review.main(["--phase", "canary"], env={"DATABASE_URL": "mysql://x"}) == 2
    assert "DATABASE_URL is invalid" in capsys.readouterr().err
