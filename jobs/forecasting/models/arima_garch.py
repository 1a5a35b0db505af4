"""``ARIMA_GARCH``: an AR(1) mean and GARCH(1,1) volatility on log returns (``arch``'s model).

The name is the rollout document's (``ENABLE_ARIMA_GARCH``) and stays; the model is not a
general ARIMA: a fixed AR(1) on log returns (ARIMA(1,1,0) on log prices), no moving-average
term and no order search, with GARCH(1,1) variance and Student-t (default) or normal shocks.
Intervals use the fitted innovation law for one bar and the normal law for a multi-bar sum.

The model is fitted once on the training slice by maximising ``arch``'s likelihood
(``jobs.forecasting.models.garch_mle``: the same estimator with an analytic gradient, about four
times cheaper per fit; ``arch`` itself fits when it does not converge). In a walk-forward each
window starts from the previous window's estimates and curvature (``fit_batch``: Newton steps,
a few times cheaper again). Prediction at many origins does not refit: the conditional mean
and variance recursions are run over the whole series with the fitted parameters (pure,
vectorised functions below), so the forecast at origin ``o`` uses only ``returns[: o+1]``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.signal import lfilter
from scipy.stats import t as student_t

from jobs.forecasting.models.base import (
    ForecastModel,
    ModelFitError,
    Prediction,
    cumulative_targets,
)
from jobs.forecasting.models.garch_mle import fit_garch, garch_problem
from jobs.forecasting.models.features import (
    check_origins,
    check_returns,
    check_steps,
    holdout_split,
    skill_shrinkage,
    training_origins,
)

# arch's optimiser behaves best on returns in percent (variances of order 1, not 1e-4).
_RESCALE = 100.0
_DISTRIBUTIONS = ("t", "normal")


@dataclass(frozen=True)
class GarchParams:
    """Fitted AR(1)-GARCH(1,1) parameters, in percent-return units."""

    mu: float
    phi: float
    omega: float
    alpha: float
    beta: float
    nu: float | None  # Student-t degrees of freedom; None for normal innovations

    def as_array(self) -> np.ndarray:
        """All parameters as one array (NaN for a missing ``nu``), for finiteness checks."""
        return np.array([self.mu, self.phi, self.omega, self.alpha, self.beta, np.nan if self.nu is None else self.nu])


def ar_residuals(y: np.ndarray, mu: float, phi: float) -> np.ndarray:
    """Innovations ``e[t] = y[t] - mu - phi*y[t-1]``; the first uses the unconditional mean."""
    first_mean = mu / (1.0 - phi) if abs(phi) < 1.0 else mu
    prev_mean = mu + phi * y[:-1]
    return y - np.concatenate([[first_mean], prev_mean])


def garch_variance_path(resid: np.ndarray, p: GarchParams, h0: float) -> np.ndarray:
    """Conditional variances ``h[t]`` of bar ``t`` given bars before it, for ``t = 0..n``.

    ``h[0] = h0``; ``h[t] = omega + alpha*e[t-1]^2 + beta*h[t-1]``. The last element is the
    variance of the bar after the series' end.
    """
    drive = p.omega + p.alpha * resid**2
    rest, _ = lfilter([1.0], [1.0, -p.beta], drive, zi=[p.beta * h0])
    return np.concatenate([[h0], rest])


def cumulative_moments(
    y_now: np.ndarray, h_next: np.ndarray, p: GarchParams, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``y[o+1] + ... + y[o+steps]`` given the state at each origin.

    Mean: the AR(1) multi-step means summed. Variance: innovation ``j`` enters the sum with
    weight ``c_j = 1 + phi + ... + phi^(steps-j)``, and its variance is the GARCH ``j``-step
    variance forecast ``E[h] <- omega + (alpha+beta) * E[h]``.
    """
    mean = np.zeros_like(y_now)
    level = y_now.copy()
    var = np.zeros_like(h_next)
    h = h_next.copy()
    for j in range(1, steps + 1):
        level = p.mu + p.phi * level
        mean += level
        c_j = sum(p.phi**i for i in range(steps - j + 1))
        var += c_j**2 * h
        h = p.omega + (p.alpha + p.beta) * h
    return mean, var


def standard_quantile(prob: float, nu: float | None, steps: int) -> float:
    """Quantile of the unit-variance innovation law for a ``steps``-bar sum.

    One bar: the fitted standardised Student-t (or normal). Several bars: a sum of
    independent innovations is close to normal, so the normal quantile is used.
    """
    if nu is None or steps > 1:
        return NormalDist().inv_cdf(prob)
    return float(student_t.ppf(prob, nu) * math.sqrt((nu - 2.0) / nu))


class ArimaGarchModel(ForecastModel):
    """AR(1) mean + GARCH(1,1) variance on log returns, Student-t (default) or normal innovations.

    Named ``ARIMA_GARCH`` for the configuration contract; see the module docstring for why
    it is ARIMA(1,1,0) on log prices and nothing more general.

    Args:
        seed: Kept for the common interface; the maximum-likelihood fit is deterministic.
        interval: Central prediction interval level in (0, 1).
        dist: ``"t"`` or ``"normal"``.
    """

    name = "ARIMA_GARCH"
    min_train = 100
    pointwise = True  # the recursions run over the whole series; each origin reads its own state

    def __init__(self, seed: int = 0, interval: float = 0.9, dist: str = "t") -> None:
        super().__init__(seed=seed, interval=interval)
        if dist not in _DISTRIBUTIONS:
            raise ValueError(f"dist={dist!r} is invalid: expected one of {', '.join(_DISTRIBUTIONS)}")
        self.dist = dist

    def fit(self, returns: np.ndarray, steps: int) -> ArimaGarchModel:
        """Fit by maximum likelihood on the training slice.

        Raises:
            ModelFitError: When the optimiser does not converge or a parameter is non-finite.
            ValueError: On invalid input (see ``features.check_returns``).
        """
        return self._fit(returns, steps, None)

    @classmethod
    def fit_batch(cls, models: Sequence[ForecastModel], slices: Sequence[np.ndarray],
                  steps: int) -> list[ForecastModel | Exception]:
        """Fit each window in turn, each starting from the previous window's estimates and curvature.

        Consecutive walk-forward windows share all but ``step`` bars, so the previous estimates
        are close to this window's and a few Newton steps with the previous curvature reach the
        maximum (``newton.constrained_newton``); it is the same maximum as from ``arch``'s starting
        values, found to a tighter tolerance (tested).
        """
        out: list[ForecastModel | Exception] = []
        previous: ArimaGarchModel | None = None
        for model, returns in zip(models, slices, strict=True):
            if not isinstance(model, ArimaGarchModel):
                raise ValueError(f"ArimaGarchModel.fit_batch got a {type(model).__name__}: expected ArimaGarchModels")
            try:
                out.append(previous := model._fit(returns, steps, previous))
            except Exception as exc:  # this window drops the model (see ForecastModel.fit_batch)
                out.append(exc)
        return out

    def _fit(self, returns: np.ndarray, steps: int, previous: ArimaGarchModel | None) -> ArimaGarchModel:
        y = check_returns(returns, self.min_train) * _RESCALE
        self.steps_ = check_steps(steps)
        # Skill is judged out of sample: parameters fitted on the head forecast the held-out tail of
        # the training slice (never the validation slice); the final fit then uses the whole slice.
        _, tail = holdout_split(training_origins(len(y), self.steps_), self.steps_, 0.2)
        self.shrink_, self.head_params_, self.head_hessian_ = 1.0, None, None
        try:
            if self.shrink_to_skill:
                head, self.head_hessian_ = self._fit_params(y[: tail[0] + 1], *self._head_start(previous, tail[0] + 1))
                self.head_params_ = head
                mean, _ = cumulative_moments(y[tail], np.zeros(len(tail)), head, self.steps_)
                self.shrink_ = skill_shrinkage(mean, cumulative_targets(y, tail, self.steps_), self.steps_)
        except ModelFitError:
            self.shrink_ = 0.0  # no out-of-sample evidence of skill: forecast the naive zero
        start: tuple[GarchParams | None, np.ndarray | None] = (None, None)
        if previous is not None:
            start = previous.params_, previous.hessian_
        elif self.head_params_ is not None and self.head_hessian_ is not None:
            # The head is 80% of this slice: its maximum is near, its curvature scales with the bars.
            start = self.head_params_, self.head_hessian_ * len(y) / (tail[0] + 1)
        params, self.hessian_ = self._fit_params(y, *start)
        self.params_, self.bars_ = params, len(y)
        # Start of the variance recursion at predict time, frozen now (causal for any series).
        self.start_variance_ = float(np.var(ar_residuals(y, params.mu, params.phi)))
        return self

    @staticmethod
    def _head_start(previous: ArimaGarchModel | None, bars: int) -> tuple[GarchParams | None, np.ndarray | None]:
        """Where this window's head fit starts: the previous window's full-slice maximum.

        The head (the slice's first 80%) lies inside the previous window's training slice when
        the windows roll by less than a fifth of it, so that maximum is nearer than the previous
        head's; its curvature scales with the bars.
        """
        if previous is None or previous.hessian_ is None:
            return (previous.head_params_, previous.head_hessian_) if previous else (None, None)
        return previous.params_, previous.hessian_ * bars / previous.bars_

    def _fit_params(self, y: np.ndarray, start: GarchParams | None = None,
                    hessian: np.ndarray | None = None) -> tuple[GarchParams, np.ndarray | None]:
        """Maximum-likelihood parameters on ``y`` (percent returns), from ``start`` if given, and the curvature there.

        ``garch_mle`` maximises ``arch``'s likelihood (Newton steps when ``hessian``, the start's
        curvature, is given); should it not converge (from ``start``, then from ``arch``'s starting
        values), ``arch`` itself fits, and the curvature is None.
        """
        try:
            with np.errstate(all="ignore"):  # a non-finite likelihood is caught as non-convergence
                problem = garch_problem(y, self.dist)
                fit = fit_garch(problem, None if start is None else self._values(start), hessian)
                if not fit.converged and start is not None:
                    fit = fit_garch(problem)
            if fit.converged and np.isfinite(fit.params).all():
                return self._params(fit.params), fit.hessian
        except (ValueError, np.linalg.LinAlgError):
            pass
        return self._arch_params(y), None

    def _values(self, params: GarchParams) -> np.ndarray:
        values = params.as_array()
        return values if self.dist == "t" else values[:5]

    def _params(self, v: np.ndarray) -> GarchParams:
        return GarchParams(*map(float, v[:5]), nu=float(v[5]) if self.dist == "t" else None)

    def _arch_params(self, y: np.ndarray) -> GarchParams:
        """``arch``'s own fit of ``y``."""
        from arch import (
            arch_model,  # imported here: only models that are used pay for imports
        )

        spec = arch_model(y, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist=self.dist, rescale=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is checked explicitly below
            try:
                res = spec.fit(disp="off", show_warning=False)
            except (ValueError, np.linalg.LinAlgError) as exc:
                raise ModelFitError(f"ARIMA_GARCH fit failed: {exc}") from exc
        if res.convergence_flag != 0:
            message = res.optimization_result.message
            raise ModelFitError(f"ARIMA_GARCH did not converge (flag {res.convergence_flag}): {message}")
        params = self._params(res.params.to_numpy())
        if not np.isfinite(self._values(params)).all():
            raise ModelFitError(f"ARIMA_GARCH produced non-finite parameters: {params}")
        return params

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        """Cumulative ``steps``-bar return forecast and interval at each origin."""
        if not hasattr(self, "params_"):
            raise ValueError("ArimaGarchModel.predict called before fit")
        y = check_returns(returns, 1) * _RESCALE
        idx = check_origins(origins, len(y))
        p = self.params_
        h = garch_variance_path(ar_residuals(y, p.mu, p.phi), p, self.start_variance_)
        mean, var = cumulative_moments(y[idx], h[idx + 1], p, self.steps_)
        mean = self.shrink_ * mean  # the share the training holdout showed to be skill
        tail = (1.0 - self.interval) / 2.0
        sd = np.sqrt(np.maximum(var, 0.0))
        lower = mean + standard_quantile(tail, p.nu, self.steps_) * sd
        upper = mean + standard_quantile(1.0 - tail, p.nu, self.steps_) * sd
        return Prediction(mean=mean / _RESCALE, lower=lower / _RESCALE, upper=upper / _RESCALE)
