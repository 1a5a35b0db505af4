"""No claimed skill (issue 14): a model keeps only the share of its forecast its own holdout showed to be skill."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.contract.domain import Model
from jobs.forecasting.models import build_model
from jobs.forecasting.models.base import cumulative_targets
from jobs.forecasting.models.features import skill_shrinkage
from tests.unit.test_models import ar1


def test_noise_keeps_nothing_and_skill_keeps_most() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(0, 0.01, 100)
    # Forecasts unrelated to the targets: over many draws, most keep exactly nothing.
    kept = [skill_shrinkage(rng.normal(0, 0.01, 100), y) for _ in range(200)]
    assert sum(k == 0.0 for k in kept) > 120 and float(np.mean(kept)) < 0.15
    # Forecasts that carry most of the signal keep almost all of it.
    signal = rng.normal(0, 0.01, 100)
    assert skill_shrinkage(signal, signal + rng.normal(0, 0.002, 100)) > 0.9


def test_never_flips_never_amplifies_and_needs_evidence() -> None:
    rng = np.random.default_rng(8)
    p = rng.normal(0, 0.01, 100)
    assert skill_shrinkage(-p, p) == 0.0  # anti-correlated: forecast zero, not the opposite
    assert skill_shrinkage(p / 3, p) == 1.0  # too timid but exact: kept whole, not tripled
    assert skill_shrinkage(p[:9], p[:9]) == 0.0  # fewer than 10 pairs: no evidence
    assert skill_shrinkage(np.zeros(50), p[:50]) == 0.0
    # Overlapping multi-step targets count as fewer independent pairs: less is kept.
    noisy = p + rng.normal(0, 0.02, 100)
    assert skill_shrinkage(p, noisy, steps=8) < skill_shrinkage(p, noisy, steps=1)


@pytest.mark.slow
@pytest.mark.parametrize("model", [Model.ARIMA_GARCH, Model.GB])
def test_a_model_without_skill_forecasts_about_zero_and_one_with_skill_keeps_it(model: Model) -> None:
    rng = np.random.default_rng(9)
    noise = rng.normal(0, 0.01, 700)
    fitted = build_model(model, seed=1).fit(noise[:500], 1)
    assert fitted.shrink_ < 0.5
    pred = fitted.predict(noise, np.arange(500, 699))
    target = cumulative_targets(noise, np.arange(500, 699), 1)
    naive = float(np.sqrt(np.mean(target**2)))
    assert float(np.sqrt(np.mean((pred.mean - target) ** 2))) <= naive * 1.005
    # Strongly predictable AR(1) returns: the skill shows on the holdout and is kept.
    y = ar1(700, phi=0.6, seed=2)
    assert build_model(model, seed=1).fit(y[:500], 1).shrink_ > 0.6
