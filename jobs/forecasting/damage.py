"""Damaged prices versus market moves: which large returns are data errors (refused) and which are real (kept).

A return more than ``threshold`` robust scales from the median return (``RETURN_OUTLIER_THRESHOLD``,
default 25) is a *large move*. Its shape decides what it is:

- **spike**: the price leaves its level and comes back within ``SPIKE_BARS`` bars: a large move
  and a large move back, of opposite signs, each more than ``SPIKE_LOCAL_SCALES`` robust scales of
  the ``LOCAL_BARS`` bars around them (an isolated outlier, not a volatile stretch), ending within
  ``NEAR_SCALES`` x sqrt(bars) robust scales of the level before and undoing at least ``REVERSAL``
  of the move (a x1e4 bar and back). A damaged price: refused (cause ``damaged``).
- **level shift by an error's ratio**, with no reversal: a power of ten (x10, x1e4, /100: a unit
  or decimal error; cause ``damaged``) or an unadjusted split (x1/2, x1/3, x1/4, or x10 for a 1:10
  reverse split; cause ``split``, named as one), within ``NEAR_SCALES`` robust scales (the larger
  of the series' and the surrounding bars', at most ``MAX_NEAR``) of the ratio. A move of 10^1.5
  (x31.6) or more either way is a unit error whatever its exact ratio: no market moves so.
- **anything else is a market move** (an earnings gap, a crash day): kept however large, and
  reported once as a data event (``data_events``). For fitting only, the models see it clipped
  to ``threshold`` robust scales (``winsorised``); targets and scores keep the real return.

The rule reads closes alone, so a real move that lands within the tolerance of a split ratio (a
fall of 50% +- 3.6% at a daily scale of 1.2%) is refused as a split: docs/data.md gives the
measured false refusals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jobs.forecasting.results import DataEvent
from jobs.forecasting.series import BadBarsError, Series, describe_move, robust_scale

# A spike comes back within this many bars (a vendor's bad print, a unit slip for a day or two) ...
SPIKE_BARS = 5
# ... and undoes at least this share of the move (a x1e4 print and back undoes 99.99% of it) ...
REVERSAL = 0.8
# ... and each leg stands out from the bars around it by this many of their robust scales: a
# bad print sits in ordinary trading, a crash and its rebound in a volatile stretch.
SPIKE_LOCAL_SCALES = 10.0
LOCAL_BARS = 20
# A move this many powers of ten or more (x31.6, /31.6) is a unit error, whatever its exact ratio.
UNIT_POWERS = 1.5
# "Near" a level or a ratio: within this many robust scales of one return (in log terms) ...
NEAR_SCALES = 3.0
# ... but never wider than this, so a volatile symbol's real -45% day is not "near" a 2:1 split.
MAX_NEAR = 0.05
# Price ratios an unadjusted split leaves between two closes, with their names.
SPLIT_RATIOS: dict[float, str] = {
    1 / 2: "an unadjusted 2:1 split",
    1 / 3: "an unadjusted 3:1 split",
    1 / 4: "an unadjusted 4:1 split",
    10.0: "an unadjusted 1:10 reverse split (or a x10 unit error)",
}


class DamagedPriceError(BadBarsError):
    """A spike or a level shift by an error's ratio: the message names the bar, its size and what it looks like."""


@dataclass(frozen=True)
class Finding:
    """One large move: where it ends (return index), what it is, and the refusal text for a damaged one."""

    index: int
    kind: str  # "move" (kept), "spike", "split" or "unit"
    text: str = ""


def classify(returns: np.ndarray, threshold: float) -> list[Finding]:
    """Every large move of ``returns`` (log returns), oldest first, with what it is.

    A spike's way back is part of the spike, not a second finding.
    """
    scale = robust_scale(returns)
    if scale <= 0 or len(returns) < 3:
        return []
    scores = np.abs(returns - np.median(returns)) / scale
    large = np.flatnonzero(scores > threshold)
    findings: list[Finding] = []
    consumed: set[int] = set()
    for i in (int(x) for x in large):
        if i in consumed:
            continue
        back = _way_back(returns, scores, i, threshold, scale)
        if back is not None:
            consumed.update(range(i, back + 1))
            findings.append(Finding(i, "spike", f"and back within {back - i} bar(s): a damaged price"))
            continue
        near = min(NEAR_SCALES * max(scale, local_scale(returns, i, i)), MAX_NEAR)
        ratio = _error_ratio(float(returns[i]), near)
        findings.append(Finding(i, *ratio) if ratio else Finding(i, "move"))
    return findings


def local_scale(returns: np.ndarray, i: int, j: int) -> float:
    """The robust scale of the ``LOCAL_BARS`` returns either side of ``returns[i..j]`` (those left out)."""
    around = np.concatenate([returns[max(0, i - LOCAL_BARS): i], returns[j + 1: j + 1 + LOCAL_BARS]])
    return robust_scale(around) if len(around) >= 3 else 0.0


def _way_back(returns: np.ndarray, scores: np.ndarray, i: int, threshold: float, scale: float) -> int | None:
    """The index of the large opposite move that brings the price back to its level after ``i``, if any."""
    for j in range(i + 1, min(i + SPIKE_BARS, len(returns) - 1) + 1):
        if np.sign(returns[j]) != -np.sign(returns[i]) or scores[j] <= threshold:
            continue
        left = abs(returns[i: j + 1].sum())
        local = local_scale(returns, i, j)
        isolated = min(abs(returns[i]), abs(returns[j])) > SPIKE_LOCAL_SCALES * local
        if isolated and left <= NEAR_SCALES * max(scale, local) * math.sqrt(j - i + 1) \
                and left <= (1 - REVERSAL) * abs(returns[i]):
            return j
    return None


def _error_ratio(log_return: float, near: float) -> tuple[str, str] | None:
    """``(kind, text)`` when the move's price ratio is an error's ratio (a split, a power of ten), else None."""
    for ratio, name in SPLIT_RATIOS.items():
        if abs(log_return - math.log(ratio)) <= near:
            return "split", f"and stays there: {name} (price ratio {math.exp(log_return):.4g})"
    power = round(log_return / math.log(10))
    if abs(log_return) >= UNIT_POWERS * math.log(10) or (power and abs(log_return - power * math.log(10)) <= near):
        sign = "x" if power > 0 else "/"
        return "unit", (f"and stays there: a {sign}1e{abs(power)} unit or decimal error "
                        f"(price ratio {math.exp(log_return):.4g})")
    return None


def screen(series: Series, threshold: float) -> tuple[DataEvent, ...]:
    """The series' real large moves (kept), or ``DamagedPriceError`` naming the first damaged bar.

    Raises:
        DamagedPriceError: a spike (cause ``damaged``), a power-of-ten shift (``damaged``) or an
            unadjusted split (``split``); the message names the bar, the move, the robust scales and
            the fix.
    """
    returns = series.returns
    findings = classify(returns, threshold)
    damaged = [f for f in findings if f.kind != "move"]
    scale = robust_scale(returns)
    if damaged:
        first = damaged[0]
        more = f" ({len(damaged) - 1} more damaged move(s))" if len(damaged) > 1 else ""
        fix = ("load split-adjusted bars with python -m jobs.load_bars --replace" if first.kind == "split" else
               "fix the bar(s) with python -m jobs.load_bars --replace or remove them with python -m jobs.bars delete")
        score = abs(returns[first.index] - np.median(returns)) / scale
        scales = f"{score:.0f}" if score < 1e6 else f"{score:.1e}"  # a 1e308 print is no 300-digit number
        raise DamagedPriceError(
            f"{series.timeframe} bars: the close at {series.timestamps[first.index + 1]} moves "
            f"{describe_move(returns[first.index])} from the bar before {first.text}, {scales} robust scales "
            f"from the median return (large moves: above RETURN_OUTLIER_THRESHOLD={threshold:g}){more}; {fix}",
            "split" if first.kind == "split" else "damaged")
    median = float(np.median(returns))
    return tuple(DataEvent(series.timestamps[f.index + 1].to_pydatetime(), float(math.expm1(returns[f.index])),
                           float(abs(returns[f.index] - median) / scale)) for f in findings)


def winsorised(returns: np.ndarray, threshold: float) -> np.ndarray:
    """``returns`` with every return beyond ``threshold`` robust scales clipped to that many (for fitting only).

    Models fitted across a -30% day would otherwise spend their volatility and scaling on one bar
    for years of lookback; the day stays a real return in every target and score.
    """
    scale = robust_scale(returns)
    if scale <= 0:
        return returns
    median = float(np.median(returns))
    return np.clip(returns, median - threshold * scale, median + threshold * scale)
