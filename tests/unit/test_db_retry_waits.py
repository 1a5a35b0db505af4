"""The database retries' real waits, and the one setting that scales them (``DB_RETRY_WAIT_SCALE``).

The suite runs with the waits scaled down (``tests/conftest.py``); these tests unset the scale
and check the documented values: a connection waits 0.25, 0.5, 1 and 2 s between its five
attempts, a write 0.5 and 1 s between its three.
"""

from __future__ import annotations

import pytest

from jobs.contract.values import ConfigError
from jobs.storage import db

REFUSED = "postgresql://nobody:pw@127.0.0.1:1/none"  # nothing listens on port 1: refused at once


@pytest.fixture()
def real_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(db.RETRY_WAIT_SCALE_ENV, raising=False)


@pytest.mark.usefixtures("real_waits")
def test_the_real_waits_double_from_the_first() -> None:
    assert db.retry_wait_scale() == 1.0
    assert db.retry_waits(5, 0.25) == [0.25, 0.5, 1.0, 2.0]
    assert db.retry_waits(3, 0.5) == [0.5, 1.0]
    assert db.retry_waits(1, 0.25) == []


@pytest.mark.usefixtures("real_waits")
def test_an_unreachable_database_is_tried_five_times_waiting_3_75_s_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(db.time, "sleep", slept.append)  # the clock, not the project's code
    with pytest.raises(db.DatabaseUnavailable, match=r"^database unreachable after 5 attempts: "):
        db.connect(REFUSED)
    assert slept == [0.25, 0.5, 1.0, 2.0]


@pytest.mark.parametrize(("raw", "scale"), [("0.01", 0.01), ("0", 0.0), ("1", 1.0), ("100", 100.0)])
def test_the_scale_multiplies_every_wait(monkeypatch: pytest.MonkeyPatch, raw: str, scale: float) -> None:
    monkeypatch.setenv(db.RETRY_WAIT_SCALE_ENV, raw)
    assert db.retry_waits(5, 0.25) == pytest.approx([0.25 * scale, 0.5 * scale, 1.0 * scale, 2.0 * scale])


@pytest.mark.parametrize("raw", ["abc", "", "-0.5", "100.5", "nan", "inf"])
def test_a_scale_that_is_no_factor_is_refused_naming_the_range(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(db.RETRY_WAIT_SCALE_ENV, raw)
    with pytest.raises(ConfigError) as refused:
        db.connect(REFUSED)
    assert str(refused.value) == (f"DB_RETRY_WAIT_SCALE={raw!r} is invalid: expected a number from 0 to 100 "
                                  "(1, the default, keeps the documented waits)")
