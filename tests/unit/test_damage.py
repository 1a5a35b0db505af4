"""The damaged-price rule on returns alone: which large moves are data errors and which are market moves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jobs.forecasting.damage import MAX_NEAR, classify, winsorised
from jobs.forecasting.series import robust_scale
from jobs.storage.sample_data import simulate_garch_returns

DAILY = simulate_garch_returns(815, 11)  # a job-sized span of the sample's daily model
HOURLY = simulate_garch_returns(1100, 12, omega=3e-7, mu=3e-5)


def with_moves(base: np.ndarray, *moves: tuple[int, float]) -> np.ndarray:
    r = base.copy()
    for i, log_move in moves:
        r[i] += log_move
    return r


def kinds(r: np.ndarray, threshold: float = 25.0) -> list[tuple[int, str]]:
    return [(f.index, f.kind) for f in classify(r, threshold)]


def test_clean_series_have_no_large_move() -> None:
    assert kinds(DAILY) == [] and kinds(HOURLY) == []


@pytest.mark.parametrize("bars", [1, 2, 5])
def test_a_x1e4_print_that_comes_back_within_five_bars_is_a_spike(bars: int) -> None:
    r = with_moves(DAILY, (700, math.log(1e4)), (700 + bars, -math.log(1e4)))
    [finding] = classify(r, 25)
    assert (finding.index, finding.kind) == (700, "spike") and f"within {bars} bar(s)" in finding.text


def test_a_print_that_comes_back_after_six_bars_is_two_unit_errors() -> None:
    r = with_moves(DAILY, (700, math.log(1e4)), (706, -math.log(1e4)))
    assert kinds(r) == [(700, "unit"), (706, "unit")]


@pytest.mark.parametrize(("ratio", "kind", "name"), [
    (0.5, "split", "2:1 split"), (1 / 3, "split", "3:1 split"), (0.25, "split", "4:1 split"),
    (10.0, "split", "1:10 reverse split"), (0.1, "unit", "/1e1 unit"), (100.0, "unit", "x1e2 unit"),
    (40.0, "unit", "x1e2 unit"), (1 / 50, "unit", "/1e2 unit")])
def test_a_level_shift_by_an_errors_ratio_is_named(ratio: float, kind: str, name: str) -> None:
    [finding] = classify(with_moves(DAILY, (700, math.log(ratio))), 25)
    assert finding.kind == kind and name in finding.text


@pytest.mark.parametrize("change", [-0.30, -0.42, +0.12 * 4, +1.5, +4.0, -0.70])
def test_a_real_move_however_large_is_kept(change: float) -> None:
    r = with_moves(DAILY, (700, math.log1p(change)))
    assert kinds(r) == [(700, "move")]


def test_an_hourly_earnings_gap_of_12_percent_is_kept_and_so_is_a_partial_rebound() -> None:
    r = with_moves(HOURLY, (900, math.log(1.12)), (901, -math.log(1.12) * 0.4))
    assert kinds(r) == [(900, "move")]


def test_a_crash_and_its_rebound_in_a_volatile_stretch_are_moves_not_a_spike() -> None:
    r = DAILY.copy()
    r[670:740] *= 6  # a volatile stretch around the pair (clustered volatility)
    r[700], r[701] = math.log(0.60), math.log(1.55)  # -40% then +55%: back near the level
    found = dict(kinds(r))
    assert found[700] == found[701] == "move" and set(found.values()) == {"move"}


def test_a_fall_near_a_split_ratio_is_the_rules_known_false_refusal() -> None:
    near = min(3 * robust_scale(DAILY), MAX_NEAR)
    assert kinds(with_moves(DAILY, (700, math.log(0.5) + 0.8 * near))) == [(700, "split")]
    assert kinds(with_moves(DAILY, (700, math.log(0.5) + 1.5 * near))) == [(700, "move")]


def test_winsorised_clips_only_returns_beyond_the_threshold() -> None:
    r = with_moves(DAILY, (700, math.log(0.7)))
    clipped = winsorised(r, 25)
    scale, median = robust_scale(r), np.median(r)
    assert clipped[700] == pytest.approx(median - 25 * scale)
    assert np.array_equal(np.delete(clipped, 700), np.delete(r, 700))
