"""``validate_bars``: every defect is refused with a reason naming it, anything else gives finite returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.forecasting.series import PRICE_COLUMNS, BadBarsError, validate_bars
from jobs.storage.sample_data import simulated_bars

BASE = simulated_bars("UNIT", "1d").iloc[-60:].reset_index(drop=True)
MIN_BARS = 40


def frame_with(**changes: object) -> pd.DataFrame:
    """A copy of the clean base frame; ``changes`` maps '<column>_at_<row>' to a new value."""
    frame = BASE.copy()
    for key, value in changes.items():
        column, row = key.split("_at_")
        frame.loc[int(row), column] = value
    return frame


def test_clean_bars_give_the_close_series_and_finite_returns() -> None:
    series = validate_bars("UNIT", "1d", BASE, MIN_BARS)
    assert series.symbol == "UNIT" and series.timeframe == "1d"
    assert np.array_equal(series.close, BASE["close"].to_numpy())
    assert series.returns.shape == (len(BASE) - 1,)
    assert np.isfinite(series.returns).all()
    assert series.source == "unknown"  # the frame carries no source column


@pytest.mark.parametrize(("frame", "reason"), [
    (BASE.iloc[:10], "10 found, need at least 40"),
    (frame_with(close_at_30=np.nan), "missing or non-finite price at"),
    (frame_with(high_at_5=np.inf), "missing or non-finite price at"),
    (frame_with(low_at_7=-np.inf), "missing or non-finite price at"),
    (frame_with(close_at_12=0.0), "non-positive price at"),
    (frame_with(open_at_3=-1.5), "non-positive price at"),
    (pd.concat([BASE, BASE.iloc[[20]]]).sort_values("ts", kind="stable").reset_index(drop=True),
     "duplicate timestamp"),
    (BASE.iloc[::-1].reset_index(drop=True), "timestamps out of order"),
    (BASE.assign(close=101.25), "constant close price over 60 bars"),
])
def test_each_defect_is_refused_with_its_reason(frame: pd.DataFrame, reason: str) -> None:
    with pytest.raises(BadBarsError, match=reason):
        validate_bars("UNIT", "1d", frame, MIN_BARS)


def test_the_reason_names_the_first_bad_timestamp() -> None:
    with pytest.raises(BadBarsError) as info:
        validate_bars("UNIT", "1d", frame_with(close_at_30=np.nan, close_at_40=np.nan), MIN_BARS)
    assert str(BASE.loc[30, "ts"]) in str(info.value)
    assert str(info.value).startswith("1d bars: ")


def test_gaps_and_jumps_are_not_defects() -> None:
    gappy = BASE.drop(index=range(10, 20)).reset_index(drop=True)
    assert len(validate_bars("UNIT", "1d", gappy, MIN_BARS).close) == 50
    jumped = BASE.copy()
    jumped.loc[45:, list(PRICE_COLUMNS)] *= 1e4  # a split or a data-vendor rescaling
    assert np.isfinite(validate_bars("UNIT", "1d", jumped, MIN_BARS).returns).all()


prices = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0, 1e-300, 1e300]))


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.sampled_from(PRICE_COLUMNS), prices),
                      max_size=4),
       dup_rows=st.lists(st.integers(0, len(BASE) - 1), max_size=2),
       keep=st.integers(1, len(BASE)), shuffle=st.booleans())
def test_any_frame_is_either_refused_cleanly_or_gives_finite_returns(
        edits: list[tuple[int, str, float]], dup_rows: list[int], keep: int, shuffle: bool) -> None:
    frame = BASE.copy()
    for row, column, value in edits:
        frame.loc[row, column] = value
    frame = pd.concat([frame, frame.iloc[dup_rows]]).iloc[-keep:]
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=0)
    try:
        series = validate_bars("UNIT", "1d", frame.reset_index(drop=True), MIN_BARS)
    except BadBarsError as exc:
        assert str(exc).startswith("1d bars: ") and len(str(exc)) > len("1d bars: ")
        return
    assert len(series.close) >= MIN_BARS
    assert np.isfinite(series.returns).all()
    assert series.timestamps.is_monotonic_increasing and series.timestamps.is_unique
