"""Ensemble weighting: fit weights on the validation slice and combine model forecasts.

Pure functions only. Weights are plain ``dict[str, float]`` keyed by model name, every
weight ``>= 0`` and the weights summing to one, so they can be stored and logged as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from jobs.contract.domain import OPTIMIZATION_METHODS
from jobs.forecasting.models.base import Prediction

__all__ = ["combine", "equal_weights", "fit_weights"]

# A tiny pull towards equal weights makes the least-squares problem strictly convex, so
# collinear or identical forecasts get one answer (equal shares) instead of an arbitrary one.
_RIDGE = 1e-9


def equal_weights(names: Iterable[str]) -> dict[str, float]:
    """Equal weights over ``names``, in the order given.

    Args:
        names: Model names; must be non-empty and distinct.

    Returns:
        ``{name: 1 / len(names)}``.

    Raises:
        ValueError: When ``names`` is empty or has duplicates.
    """
    keys = list(names)
    if not keys:
        raise ValueError("equal_weights needs at least one model name, got none")
    if len(set(keys)) != len(keys):
        raise ValueError(f"equal_weights got duplicate model names: {keys}")
    return {k: 1.0 / len(keys) for k in keys}


def fit_weights(method: str, predictions: Mapping[str, np.ndarray], target: np.ndarray) -> dict[str, float]:
    """Fit ensemble weights on the validation slice.

    Args:
        method: One of ``OPTIMIZATION_METHODS``: ``simple_avg`` (equal weights),
            ``inverse_rmse`` (weights proportional to 1/RMSE) or ``constrained_ls``
            (non-negative weights summing to one that minimise the squared error).
        predictions: Each model's point forecasts on the validation slice, 1-D arrays
            of the same length as ``target``.
        target: The realised values; NaN rows (e.g. targets past the data's end) are ignored.

    Returns:
        Weights keyed by model name (in the order of ``predictions``), each ``>= 0``, summing to 1.
        When no row has a target, or the forecasts cannot be told apart, the weights are equal.

    Raises:
        ValueError: On an unknown method, no models, mismatched shapes, or a non-finite
            forecast on a row that has a target.
    """
    if method not in OPTIMIZATION_METHODS:
        raise ValueError(f"unknown optimization method {method!r}: expected one of {', '.join(OPTIMIZATION_METHODS)}")
    names, matrix, y = _validation_rows(predictions, target)
    if method == "simple_avg" or len(names) == 1 or y.size == 0:
        return equal_weights(names)
    if method == "inverse_rmse":
        raw = inverse_rmse_weights(matrix, y)
    else:
        raw = simplex_least_squares(matrix, y)
    return {name: float(raw[i]) for i, name in enumerate(names)}


def combine(weights: Mapping[str, float], predictions: Mapping[str, Prediction]) -> Prediction:
    """Weighted mean of the models' means and interval bounds.

    The weights are renormalised over the models present in ``predictions`` (a model that
    failed in this window is simply absent). If the present models carry no weight at all,
    they are averaged equally rather than producing nothing.

    Args:
        weights: Weights keyed by model name (extra names are ignored).
        predictions: Each present model's ``Prediction``; all of one shape.

    Returns:
        The combined ``Prediction``.

    Raises:
        ValueError: When no prediction is given, a present model has no weight entry,
            a weight is negative or non-finite, or the shapes differ.
    """
    if not predictions:
        raise ValueError("combine needs at least one model's prediction, got none")
    missing = [n for n in predictions if n not in weights]
    if missing:
        raise ValueError(f"no weight for model(s) {', '.join(missing)}; weights are given for {', '.join(weights)}")
    w = np.array([weights[n] for n in predictions], dtype=float)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be finite and >= 0, got {dict(weights)}")
    shapes = {n: p.mean.shape for n, p in predictions.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"predictions have different shapes: {shapes}")
    # All surviving models weighted zero (e.g. constrained_ls zeroed them): average them equally.
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    preds = list(predictions.values())
    return Prediction(
        mean=_weighted(w, [p.mean for p in preds]),
        lower=_weighted(w, [p.lower for p in preds]),
        upper=_weighted(w, [p.upper for p in preds]),
    )


def inverse_rmse_weights(matrix: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights proportional to 1/RMSE of each column of ``matrix`` against ``y``.

    Models with zero error share all the weight equally (1/0 is their limit).
    """
    rmse = np.sqrt(np.mean((matrix - y[:, None]) ** 2, axis=0))
    perfect = rmse <= 1e-12 * max(float(np.sqrt(np.mean(y**2))), 1e-300)
    if perfect.any():
        return perfect / perfect.sum()
    inv = 1.0 / rmse
    return inv / inv.sum()


def simplex_least_squares(matrix: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Minimise ``||matrix @ w - y||^2`` subject to ``w >= 0`` and ``sum(w) == 1``.

    The quadratic form is rescaled to unit average diagonal so the solver's tolerances mean
    the same thing for daily returns (~1e-2) as for anything else.
    """
    # Imported here: scipy.optimize costs about a second of CPU per process, and every command
    # imports this module (through the results it reads) while only a fitting process solves.
    from scipy.optimize import LinearConstraint, minimize

    k = matrix.shape[1]
    gram = matrix.T @ matrix / len(y)
    cross = matrix.T @ y / len(y)
    scale = float(np.trace(gram)) / k
    if scale <= 0.0:
        return np.full(k, 1.0 / k)  # every forecast is identically zero: nothing to choose between
    # The ridge adds _RIDGE * |w|^2, least at equal weights on the simplex. Written as a pull
    # towards them, _RIDGE * |w - 1/k|^2, it would add a linear term; that term is constant where
    # sum(w) == 1, so it would not move the optimum and is left out.
    q = gram / scale + _RIDGE * np.eye(k)
    c = cross / scale
    result = minimize(
        lambda w: 0.5 * w @ q @ w - c @ w,
        np.full(k, 1.0 / k),
        jac=lambda w: q @ w - c,
        method="SLSQP",
        bounds=[(0.0, None)] * k,  # w <= 1 follows from w >= 0 and sum(w) == 1
        constraints=LinearConstraint(np.ones(k), 1.0, 1.0),
        # The default ftol (1e-6) stops after one step when the forecasts agree closely; the
        # default cap of 100 iterations is far above the 3-35 this problem takes.
        options={"ftol": 1e-14},
    )
    # SLSQP can end an ulp or two outside its bounds (scipy gh-11403): clip, then restore the sum.
    # Its x is never NaN: on a NaN problem (squares that overflow) it returns the start point.
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()


def _validation_rows(
    predictions: Mapping[str, np.ndarray], target: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Stack the forecasts into a (rows, models) matrix over the rows that have a target."""
    if not predictions:
        raise ValueError("fit_weights needs at least one model's predictions, got none")
    y = np.asarray(target, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"target must be 1-D, got shape {y.shape}")
    cols = {n: np.asarray(p, dtype=float) for n, p in predictions.items()}
    bad = [f"{n}{c.shape}" for n, c in cols.items() if c.shape != y.shape]
    if bad:
        raise ValueError(f"predictions must match target shape {y.shape}; got {', '.join(bad)}")
    keep = np.isfinite(y)
    nonfinite = [n for n, c in cols.items() if not np.isfinite(c[keep]).all()]
    if nonfinite:
        raise ValueError(f"non-finite forecasts from {', '.join(nonfinite)}: drop failed models before fitting weights")
    return list(cols), np.column_stack(list(cols.values()))[keep], y[keep]


def _weighted(w: np.ndarray, arrays: list[np.ndarray]) -> np.ndarray:
    return np.tensordot(w, np.stack(arrays), axes=1)
