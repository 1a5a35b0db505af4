"""Maximum likelihood for AR(1)-GARCH(1,1) with Student-t or normal shocks: ``arch``'s estimator, vectorised.

The likelihood is ``arch``'s for ``arch_model(y, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist=...)``
term for term: the first observation is conditioned on (residuals ``e[t] = y[t] - mu - phi*y[t-1]``
for ``t >= 1``); the variance recursion ``s[t] = omega + alpha*e[t-1]^2 + beta*s[t-1]`` starts from
``arch``'s backcast of the least-squares residuals; ``arch``'s loose per-bar variance bounds apply;
the parameter bounds, the constraint ``alpha + beta <= 1`` and the optimiser (SLSQP) are ``arch``'s.

What differs is the cost of each fit. ``arch`` differentiates numerically (one likelihood per
parameter per step) and rebuilds its set-up on every call; here the gradient is analytic: the
derivatives of the variance path are linear recursions with the same coefficient ``beta`` as the
path itself, so one ``lfilter`` call runs all of them. A fit can also start from given estimates
(the previous walk-forward window's, whose training slice overlaps this one in all but ``step``
bars) instead of ``arch``'s starting values; given the previous window's curvature too, it
takes constrained quasi-Newton steps (``jobs.forecasting.models.newton``, the same bounds and
constraint) instead of SLSQP, about 10 likelihood evaluations instead of 25 to 45.
``tests/unit/test_garch_mle.py`` holds both to ``arch``'s estimates and likelihood on the real
sample data.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.signal import lfilter
from scipy.special import digamma, gammaln
from scipy.stats import kurtosis

from jobs.forecasting.models.newton import constrained_newton, positive_definite

# arch's backcast and variance-bound smoothing: 75 bars of RiskMetrics weights.
_BACKCAST_BARS, _LAMBDA = 75, 0.94
_NU_BOUNDS = (2.05, 500.0)
# The starting-value grid arch searches (alpha, alpha + beta).
_GRID = tuple(itertools.product((0.01, 0.05, 0.1, 0.2), (0.5, 0.7, 0.9, 0.98)))
_LOG_2PI = math.log(2.0 * math.pi)
_ONE = np.array([1.0])
# Newton steps stop when the gain they predict is below this (in log-likelihood: tighter than
# SLSQP's 1e-6), or give up after this many steps (SLSQP then fits).
NEWTON_TOLERANCE = 1e-7
NEWTON_ITERATIONS = 30


@dataclass(frozen=True)
class GarchProblem:
    """What ``arch`` derives from the data before optimising: fixed for one fit.

    Attributes:
        lagged: ``y[t-1]`` for ``t = 1..n-1``.
        current: ``y[t]`` for ``t = 1..n-1``.
        backcast: The variance recursion's start (``arch``'s backcast).
        lower: Per-bar lower variance bounds.
        upper: Per-bar upper variance bounds.
        bounds: Parameter bounds ``(mu, phi, omega, alpha, beta[, nu])``.
        ols: The least-squares mean ``(mu, phi)`` and its residuals (for ``arch_start``).
        dist: ``"t"`` or ``"normal"``.
    """

    lagged: np.ndarray
    current: np.ndarray
    backcast: float
    lower: np.ndarray
    upper: np.ndarray
    bounds: tuple[tuple[float | None, float | None], ...]
    ols: tuple[np.ndarray, np.ndarray]
    dist: str


def garch_problem(y: np.ndarray, dist: str) -> GarchProblem:
    """Set up the fit of ``y`` (returns in percent) as ``arch`` does: OLS residuals, backcast, bounds."""
    if dist not in ("t", "normal"):
        raise ValueError(f"dist={dist!r} is invalid: expected t or normal")
    lagged, current = y[:-1], y[1:]
    regressors = np.column_stack([np.ones_like(lagged), lagged])
    mean = np.linalg.pinv(regressors) @ current
    resid = current - regressors @ mean
    tau = min(_BACKCAST_BARS, len(resid))
    weights = _LAMBDA ** np.arange(tau)
    backcast = float(np.sum(resid[:tau] ** 2 * (weights / weights.sum())))
    lower, upper = _variance_bounds(resid, backcast)
    v = float(np.mean(resid**2))
    bounds: list[tuple[float | None, float | None]] = [(None, None), (None, None), (1e-8 * v, 10.0 * v),
                                                       (0.0, 1.0), (0.0, 1.0)]
    if dist == "t":
        bounds.append(_NU_BOUNDS)
    return GarchProblem(lagged, current, backcast, lower, upper, tuple(bounds), (mean, resid), dist)


def arch_start(problem: GarchProblem) -> np.ndarray:
    """``arch``'s starting values: the OLS mean, the best GARCH grid point, ``nu`` from the kurtosis."""
    mean, resid = problem.ols
    vol = _grid_start(resid, problem.backcast, problem.lower, problem.upper)
    start = np.concatenate([mean, vol])
    if problem.dist != "t":
        return start
    sigma2 = _variance(np.concatenate([[0.0, 0.0], vol]), resid, problem.backcast, problem.lower, problem.upper)
    k = float(kurtosis(resid / np.sqrt(sigma2), fisher=False))
    return np.append(start, max((4.0 * k - 6.0) / (k - 3.0) if k > 3.75 else 12.0, 4.0))


def _variance_bounds(resid: np.ndarray, backcast: float) -> tuple[np.ndarray, np.ndarray]:
    """``arch``'s loose per-bar bounds: an EWMA of squared residuals / and x 1e6, clipped."""
    drive = np.concatenate([[backcast], (1.0 - _LAMBDA) * resid[:-1] ** 2])
    ewma = lfilter([1.0], [1.0, -_LAMBDA], drive)
    ewma[0] = backcast
    lower, upper = ewma / 1e6, ewma * 1e6
    biggest = 1.0 + float(np.max(resid**2))
    lower = np.maximum(lower, float(np.var(resid)) / 1e8)
    upper = np.minimum(np.maximum(upper, biggest), 1e7 * biggest)
    return lower, upper


def _grid_start(resid: np.ndarray, backcast: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``arch``'s GARCH starting values: the grid point with the best Gaussian likelihood."""
    target = float(np.mean(resid**2))
    best, best_ll = np.zeros(3), -np.inf
    for alpha, persistence in _GRID:
        vol = np.array([(1.0 - persistence) * target, alpha, persistence - alpha])
        sigma2 = _variance(np.concatenate([[0.0, 0.0], vol]), resid, backcast, lower, upper)
        ll = -0.5 * float(np.sum(_LOG_2PI + np.log(sigma2) + resid**2 / sigma2))
        if ll > best_ll:
            best, best_ll = vol, ll
    return best


def _variance(theta: np.ndarray, resid: np.ndarray, backcast: float, lower: np.ndarray,
              upper: np.ndarray) -> np.ndarray:
    """The conditional variance path with ``arch``'s bounds."""
    return _path(theta, resid, np.zeros_like(resid), backcast, (lower, upper), derivatives=False)[0]


def _path(theta: np.ndarray, resid: np.ndarray, lagged: np.ndarray, backcast: float,
          bounds: tuple[np.ndarray, np.ndarray], derivatives: bool) -> tuple[np.ndarray, np.ndarray]:
    """``s[t] = omega + alpha*e[t-1]^2 + beta*s[t-1]`` (``s[0]`` from the backcast), within ``arch``'s bounds.

    With ``derivatives``, also ``ds/d(mu, phi, omega, alpha, beta)``, shape ``(5, n)``: each follows
    ``D[t] = u[t] + beta * D[t-1]``, the variance's own recursion, so one ``lfilter`` over the five
    driving series computes all of them. Where the path leaves its bounds (only at far-off trial
    parameters) it is continued bar by bar from there, as ``arch`` does.
    """
    omega, alpha, beta = float(theta[2]), float(theta[3]), float(theta[4])
    n = len(resid)
    # The driving series are written into one preallocated block: this runs ~10 times per fit.
    drives = np.empty((5, n))
    shock = drives[3]
    shock[0] = backcast
    np.multiply(resid[:-1], resid[:-1], out=shock[1:])
    drive = omega + alpha * shock
    drive[0] += beta * backcast
    denominator = np.array([1.0, -beta])
    sigma2 = lfilter(_ONE, denominator, drive)
    deriv = drives
    if derivatives:
        pull = drives[0]  # via e[t-1]: de/dmu = -1, de/dphi = -y[t-1]
        pull[0] = 0.0
        np.multiply(-2.0 * alpha, resid[:-1], out=pull[1:])
        drives[1, 0] = 0.0
        np.multiply(pull[1:], lagged[:-1], out=drives[1, 1:])
        drives[2] = 1.0
        drives[4, 0] = backcast
        drives[4, 1:] = sigma2[:-1]
        deriv = lfilter(_ONE, denominator, drives, axis=1)
    else:
        deriv.fill(0.0)
    outside = np.flatnonzero((sigma2 < bounds[0]) | (sigma2 > bounds[1]))
    if len(outside):
        _bounded_from(int(outside[0]), theta, (resid, lagged), backcast, bounds, (sigma2, deriv))
    return sigma2, deriv


def _bounded_from(start: int, theta: np.ndarray, data: tuple[np.ndarray, np.ndarray], backcast: float,
                  bounds: tuple[np.ndarray, np.ndarray], out: tuple[np.ndarray, np.ndarray]) -> None:
    """Recompute the path and its derivatives (``out``) in place from bar ``start`` on, as ``arch`` bounds them.

    A bar below its lower bound is set to it (its derivatives vanish); one above its upper bound
    ``u`` becomes ``u + log(s/u)``, ``arch``'s soft ceiling. Plain floats: this loop runs per bar.
    """
    omega, alpha, beta = (float(v) for v in theta[2:5])
    lower, upper = bounds[0].tolist(), bounds[1].tolist()
    e, x = data[0].tolist(), data[1].tolist()
    sigma2, deriv = out
    values, rows = sigma2.tolist(), deriv.tolist()
    prev = backcast if start == 0 else values[start - 1]
    d_mu, d_phi, d_omega, d_alpha, d_beta = (0.0,) * 5 if start == 0 else (r[start - 1] for r in rows)
    for t in range(start, len(e)):
        shock, pull, lag = (backcast, 0.0, 0.0) if t == 0 else (e[t - 1] ** 2, -2.0 * alpha * e[t - 1], x[t - 1])
        value = omega + alpha * shock + beta * prev
        d_mu, d_phi = beta * d_mu + pull, beta * d_phi + pull * lag
        d_omega, d_alpha, d_beta = beta * d_omega + 1.0, beta * d_alpha + shock, beta * d_beta + prev
        if value < lower[t]:
            value, d_mu, d_phi, d_omega, d_alpha, d_beta = lower[t], 0.0, 0.0, 0.0, 0.0, 0.0
        elif value > upper[t]:
            shrink = 1.0 / value
            value = upper[t] + math.log(value / upper[t])
            d_mu, d_phi, d_omega, d_alpha, d_beta = (v * shrink for v in (d_mu, d_phi, d_omega, d_alpha, d_beta))
        values[t], prev = value, value
        for row, v in zip(rows, (d_mu, d_phi, d_omega, d_alpha, d_beta), strict=True):
            row[t] = v
    sigma2[:] = values
    deriv[:] = rows


def negative_loglik(theta: np.ndarray, problem: GarchProblem) -> tuple[float, np.ndarray]:
    """Minus ``arch``'s log-likelihood at ``theta = (mu, phi, omega, alpha, beta[, nu])``, and its gradient."""
    resid = problem.current - theta[0] - theta[1] * problem.lagged
    sigma2, deriv = _path(theta, resid, problem.lagged, problem.backcast, (problem.lower, problem.upper),
                          derivatives=True)
    sq = resid * resid
    grad = np.zeros(len(theta))
    if problem.dist == "t":
        nu = float(theta[5])
        scale = nu - 2.0
        q = sq / (sigma2 * scale)
        log1q = np.log1p(q)
        n = len(resid)
        ll = (n * (gammaln((nu + 1.0) / 2.0) - gammaln(nu / 2.0) - 0.5 * math.log(math.pi * scale))
              - 0.5 * float(np.log(sigma2).sum()) - 0.5 * (nu + 1.0) * float(log1q.sum()))
        one_q = 1.0 + q
        share = q / one_q
        d_sigma2 = (0.5 * (nu + 1.0) * share - 0.5) / sigma2
        d_resid = -(nu + 1.0) * resid / (sigma2 * scale * one_q)
        grad[5] = (n * 0.5 * (digamma((nu + 1.0) / 2.0) - digamma(nu / 2.0) - 1.0 / scale)
                   - 0.5 * float(log1q.sum()) + 0.5 * (nu + 1.0) * float(share.sum()) / scale)
    else:
        ll = -0.5 * float((_LOG_2PI + np.log(sigma2) + sq / sigma2).sum())
        d_sigma2 = 0.5 * (sq / sigma2 - 1.0) / sigma2
        d_resid = -resid / sigma2
    grad[:5] = deriv @ d_sigma2
    grad[0] -= float(d_resid.sum())
    grad[1] -= float(d_resid @ problem.lagged)
    return -ll, -grad


@dataclass(frozen=True)
class GarchFit:
    """An optimiser's result: the parameters, the log-likelihood there, whether it converged.

    ``hessian`` is a positive definite estimate of the negative log-likelihood's curvature at
    ``params`` (None when the fit did not converge): the next walk-forward window's start.
    """

    params: np.ndarray
    loglik: float
    converged: bool
    message: str
    hessian: np.ndarray | None = None


def fit_garch(problem: GarchProblem, start: np.ndarray | None = None, hessian: np.ndarray | None = None) -> GarchFit:
    """Maximise the likelihood from ``start`` (``arch``'s starting values when None).

    With a start and its ``hessian`` (the previous window's estimates and curvature), Newton
    steps under the same bounds and constraint go first (``newton.constrained_newton``);
    otherwise, or when they do not finish, SLSQP as ``arch`` runs it, from the start moved
    inside the bounds and ``alpha + beta <= 1``.
    """
    if start is not None and hessian is not None and len(start) == len(problem.bounds):
        a, b = _constraints(problem)
        found = constrained_newton(lambda x: negative_loglik(x, problem), _feasible(start, problem, 0.0), hessian,
                                   a, b, NEWTON_TOLERANCE, NEWTON_ITERATIONS)
        if found is not None:
            return GarchFit(found.x, -found.fun, True, f"Newton steps converged ({found.evaluations} evaluations)",
                            found.hessian)
    x0 = arch_start(problem) if start is None or len(start) != len(problem.bounds) else _feasible(start, problem)
    normal = np.zeros(len(x0))
    normal[3:5] = -1.0
    persistence = {"type": "ineq", "fun": lambda x: 1.0 - x[3] - x[4], "jac": lambda x: normal}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "values outside bounds" mid-search; convergence is reported below
        res = minimize(negative_loglik, x0, args=(problem,), jac=True, method="SLSQP", bounds=problem.bounds,
                       constraints=[persistence])
    x, converged = np.asarray(res.x, dtype=float), bool(res.status == 0)
    return GarchFit(x, -float(res.fun), converged, str(res.message), curvature(problem, x) if converged else None)


def curvature(problem: GarchProblem, x: np.ndarray) -> np.ndarray | None:
    """The negative log-likelihood's Hessian at ``x`` by forward differences of the analytic gradient.

    Made positive definite (``newton.positive_definite``): at a maximum on a bound the
    likelihood may still rise across it. None when it is not finite.
    """
    _, g = negative_loglik(x, problem)
    h = np.empty((len(x), len(x)))
    for i in range(len(x)):
        moved = x.copy()
        moved[i] += 1e-6 * max(abs(x[i]), 1e-2)
        h[:, i] = (negative_loglik(moved, problem)[1] - g) / (moved[i] - x[i])
    return positive_definite(h)


def _constraints(problem: GarchProblem) -> tuple[np.ndarray, np.ndarray]:
    """The bounds and ``alpha + beta <= 1`` as rows of ``A @ x >= b``."""
    size = len(problem.bounds)
    rows, limits = [], []
    for i, (lo, hi) in enumerate(problem.bounds):
        for bound, sign in ((lo, 1.0), (hi, -1.0)):
            if bound is not None:
                rows.append(sign * np.eye(size)[i])
                limits.append(sign * bound)
    persistence = np.zeros(size)
    persistence[3:5] = -1.0
    return np.array([*rows, persistence]), np.array([*limits, -1.0])


def _feasible(start: np.ndarray, problem: GarchProblem, margin: float = 1e-6) -> np.ndarray:
    """``start`` clipped into the bounds; an ``alpha + beta`` above 1 scaled down to ``1 - margin``."""
    lows = np.array([-np.inf if lo is None else lo for lo, _ in problem.bounds])
    highs = np.array([np.inf if hi is None else hi for _, hi in problem.bounds])
    x = np.clip(np.asarray(start, dtype=float), lows, highs)
    if x[3] + x[4] > 1.0:
        x[3:5] *= (1.0 - margin) / (x[3] + x[4])
    return x
