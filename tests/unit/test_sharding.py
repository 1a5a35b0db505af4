"""Shards are an exact, stable partition of the symbol list."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.running.plan import shard

symbol_lists = st.lists(st.from_regex(r"[A-Z]{1,5}", fullmatch=True), unique=True, max_size=150)


@given(symbols=symbol_lists, count=st.integers(min_value=1, max_value=40))
def test_every_symbol_in_exactly_one_shard(symbols: list[str], count: int) -> None:
    shards = [shard(symbols, i, count) for i in range(count)]
    flat = [s for part in shards for s in part]
    assert sorted(flat) == sorted(symbols)
    assert len(flat) == len(set(flat))
    sizes = [len(p) for p in shards]
    assert max(sizes) - min(sizes) <= 1, "shards are balanced"


@given(symbols=symbol_lists, count=st.integers(min_value=1, max_value=40), data=st.data())
def test_same_shard_on_a_retry(symbols: list[str], count: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    assert shard(symbols, index, count) == shard(list(symbols), index, count)


@pytest.mark.parametrize(("index", "count"), [(-1, 2), (2, 2), (0, 0)])
def test_bad_shard_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="expected 0 <= index < count"):
        shard(["AAPL"], index, count)
