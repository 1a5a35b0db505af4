"""The neural sequence-model base (LSTM, Transformer): seeded init, early-stopped training, residual intervals."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np
import torch
from torch import nn

from jobs.forecasting.models.base import ForecastModel, ModelFitError
from jobs.forecasting.models.features import holdout_split, sequence_features
from jobs.forecasting.models.residual import ResidualIntervalModel


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser settings for ``train_net``.

    The defaults (two mini-batches per epoch of a daily head, patience 8) are measured choices:
    one full batch per epoch, or patience 4, each cost less but sometimes stopped before a net
    learnt a simulated AR(1) signal (docs/performance.md).
    """

    max_epochs: int = 60
    patience: int = 8
    lr: float = 1e-2
    batch_size: int = 256
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.patience < 1 or self.batch_size < 1:
            raise ValueError(
                f"max_epochs={self.max_epochs}, patience={self.patience}, batch_size={self.batch_size} "
                "are invalid: expected positive integers"
            )
        if not 0.0 < self.lr < float("inf") or not 0.0 <= self.weight_decay < float("inf"):
            raise ValueError(
                f"lr={self.lr}, weight_decay={self.weight_decay} are invalid: expected lr > 0, weight_decay >= 0"
            )


def seeded_init(net: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every parameter from ``generator``: Glorot-uniform matrices, zero biases, unit gains."""
    with torch.no_grad():
        for name, param in net.named_parameters():
            if param.ndim >= 2:
                fan_out, fan_in = param.shape[0], int(np.prod(param.shape[1:]))
                bound = float(np.sqrt(6.0 / (fan_in + fan_out)))
                nn.init.uniform_(param, -bound, bound, generator=generator)
            elif name.endswith("bias"):
                nn.init.zeros_(param)
            else:
                nn.init.ones_(param)  # LayerNorm gains


def train_net(
    net: nn.Module,
    head: tuple[torch.Tensor, torch.Tensor],
    tail: tuple[torch.Tensor, torch.Tensor],
    settings: TrainSettings,
    generator: torch.Generator,
    warm: bool = False,
) -> int:
    """Adam on mean squared error over ``head``, early-stopped on ``tail``; restores the best weights.

    Every epoch takes the head in mini-batches in a fresh order from ``generator``, one Adam step
    each, then measures the loss on the tail; the weights of the
    best tail loss are kept, and training stops ``patience`` epochs after that. With ``warm``, the
    weights ``net`` starts with (another window's trained net) compete as epoch 0: a tail they
    already fit best keeps them unchanged.

    Returns:
        The epoch whose weights were kept (0: the starting weights, only when ``warm``).

    Raises:
        ModelFitError: When the training loss becomes non-finite, or the tail loss never was finite.
    """
    run = _Run(net)
    if warm:
        run.watch(0, _tail_loss(net, tail))
    adam = _FlatAdam(net, settings.lr, settings.weight_decay)
    try:
        for epoch in range(1, settings.max_epochs + 1):
            _epoch(net, head, settings.batch_size, generator, adam, epoch)
            run.watch(epoch, _tail_loss(net, tail))
            if epoch - run.best_epoch >= settings.patience:
                break
    finally:
        adam.release()
    return run.finish()


def _epoch(net: nn.Module, head: tuple[torch.Tensor, torch.Tensor], batch_size: int, generator: torch.Generator,
           adam: _FlatAdam, epoch: int) -> None:
    """One pass over ``head``, one Adam step per mini-batch."""
    x, y = head
    net.train()
    order = torch.randperm(len(y), generator=generator)
    for start in range(0, len(y), batch_size):
        rows = order[start: start + batch_size]
        adam.zero_grad()
        loss = nn.functional.mse_loss(net(x[rows]), y[rows])
        if not torch.isfinite(loss):
            raise ModelFitError(f"training loss became non-finite at epoch {epoch}")
        loss.backward()
        adam.step()


class _FlatAdam:
    """``torch.optim.Adam`` (L2 weight decay, its defaults) over one network, as one flat tensor.

    Every parameter and its gradient become views into one flat tensor each, so an update is six
    tensor operations instead of a dozen per parameter tensor (and ``torch.optim``, whose import
    pulls in ``torch._dynamo``, is not needed). The arithmetic is ``torch.optim.Adam``'s.
    """

    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, net: nn.Module, lr: float, weight_decay: float) -> None:
        self.params = list(net.parameters())
        self.flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        self.grad = torch.zeros_like(self.flat)
        offset = 0
        for p in self.params:
            size = p.numel()
            # autograd accumulates into an existing gradient in place, so the flat one receives them
            p.data, p.grad = self.flat[offset: offset + size].view_as(p), self.grad[offset: offset + size].view_as(p)
            offset += size
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
        self.lr, self.weight_decay, self.steps = lr, weight_decay, 0

    def zero_grad(self) -> None:
        """Clear every gradient (in place: the views stay bound)."""
        self.grad.zero_()

    def step(self) -> None:
        """One Adam update of every parameter."""
        self.steps += 1
        beta1, beta2 = self.betas
        grad = self.grad.add(self.flat, alpha=self.weight_decay) if self.weight_decay else self.grad
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**self.steps)
        denom = (self.exp_avg_sq.sqrt() / (1 - beta2**self.steps) ** 0.5).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-step_size)

    def release(self) -> None:
        """Give every parameter its own storage again, and no gradient."""
        for p in self.params:
            p.data, p.grad = p.data.clone(), None


def _tail_loss(net: nn.Module, tail: tuple[torch.Tensor, torch.Tensor]) -> float:
    net.eval()
    with torch.no_grad():
        return float(nn.functional.mse_loss(net(tail[0]), tail[1]))


class _Run:
    """One network's early-stopping record in ``train_net``."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self.best_loss, self.best_epoch, self.best_state = float("inf"), 0, _snapshot(net)

    def watch(self, epoch: int, loss: float) -> None:
        """Keep the weights when the tail loss improved."""
        if loss < self.best_loss:
            self.best_loss, self.best_epoch, self.best_state = loss, epoch, _snapshot(self.net)

    def finish(self) -> int:
        """Restore the best weights; the kept epoch."""
        if not np.isfinite(self.best_loss):
            raise ModelFitError("validation loss was never finite")
        self.net.load_state_dict(self.best_state)
        return self.best_epoch


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


class SequenceArgs(TypedDict, total=False):
    """``SequenceNetModel``'s arguments, which each network's model passes through as keywords."""

    seed: int
    interval: float
    lookback: int | None
    holdout: float
    settings: TrainSettings | None
    warm_settings: TrainSettings | None


class SequenceNetModel(ResidualIntervalModel):
    """Base for the torch sequence forecasters; subclasses only build the network.

    Args:
        seed: Seeds initialisation and mini-batch order.
        interval: Central prediction interval level in (0, 1).
        lookback: Bars of history fed to the net; default: the class's ``default_lookback``.
        holdout: Fraction of the training origins held out (the tail) for early stopping.
        settings: Optimiser settings of a net trained from its seeded initialisation (``fit``);
            default: the class's ``default_settings``.
        warm_settings: Optimiser settings of a walk-forward window's net that continues the
            previous window's (``fit_batch``); default: ``settings`` with patience 1 and the
            learning rate times ``warm_lr_ratio``, so it trains only while each epoch improves
            on the weights it started from.
    """

    min_train = 120
    default_lookback = 10
    default_settings = TrainSettings()
    warm_lr_ratio = 1.0

    def __init__(
        self,
        seed: int = 0,
        interval: float = 0.9,
        lookback: int | None = None,
        holdout: float = 0.2,
        settings: TrainSettings | None = None,
        warm_settings: TrainSettings | None = None,
    ) -> None:
        super().__init__(seed=seed, interval=interval)
        lookback = self.default_lookback if lookback is None else lookback
        if lookback < 2:
            raise ValueError(f"lookback={lookback!r} is invalid: expected at least 2 bars")
        if not 0.05 <= holdout <= 0.5:
            raise ValueError(f"holdout={holdout!r} is invalid: expected a fraction in [0.05, 0.5]")
        self.lookback = lookback
        self.holdout = holdout
        self.settings = settings or self.default_settings
        self.warm_settings = warm_settings or replace(self.settings, patience=1, lr=self.settings.lr * self.warm_lr_ratio)

    @abstractmethod
    def build_net(self, n_inputs: int) -> nn.Module:
        """A network mapping ``(batch, lookback, n_inputs)`` to ``(batch,)`` forecasts."""

    def fit(self, returns: np.ndarray, steps: int) -> SequenceNetModel:
        """Train on the training slice from the seeded initialisation (see the module docstring).

        Raises:
            ModelFitError: On a constant series or a loss that becomes non-finite.
            ValueError: On invalid input.
        """
        return self._fit(returns, steps, None)

    @classmethod
    def fit_batch(cls, models: Sequence[ForecastModel], slices: Sequence[np.ndarray],
                  steps: int) -> list[ForecastModel | Exception]:
        """Fit a symbol-horizon's windows oldest first, each net continuing the previous window's.

        The first window's net trains from its seeded initialisation, exactly as ``fit``. Every
        later one starts from the weights the previous fitted window's net ended with (its
        training slice overlaps this one in all but ``step`` bars, and ends before this one's
        tail, so the tail stays out of sample) and trains under ``warm_settings``, those weights
        competing as epoch 0 on this window's tail. So a window's net is no longer what ``fit``
        alone would make of its slice; why that is allowed is in docs/performance.md. A window
        that fails is skipped: the next continues from the last one fitted.
        """
        out: list[ForecastModel | Exception] = []
        previous: nn.Module | None = None
        for model, returns in zip(models, slices, strict=True):
            try:
                fitted = _sequence_model(model)._fit(returns, steps, previous)
            except Exception as exc:  # this model fails in this window only (see ForecastModel.fit_batch)
                out.append(exc)
                continue
            out.append(fitted)
            previous = fitted.net_
        return out

    def _fit(self, returns: np.ndarray, steps: int, previous: nn.Module | None) -> SequenceNetModel:
        """Train from the seeded initialisation, or from ``previous`` (a net of the same shape)."""
        run = self._prepare(returns, steps)
        start = previous if previous is not None and _same_shape(previous, run.net) else None
        if start is not None:  # overwrites the seeded initialisation
            run.net.load_state_dict(start.state_dict())
        self.warm_started_ = start is not None
        settings = self.warm_settings if self.warm_started_ else self.settings
        self.best_epoch_ = train_net(run.net, run.head, run.tail, settings, run.generator, warm=self.warm_started_)
        self._finish(run)
        return self

    def _prepare(self, returns: np.ndarray, steps: int) -> _Prepared:
        """Validate the slice, build and seed the net, and split its training data into head and tail."""
        r, origins, target = self._training_targets(returns, steps)
        generator = torch.Generator().manual_seed(self.seed)
        net = self.build_net(2)
        seeded_init(net, generator)
        x = self._inputs(r, origins)
        y = torch.as_tensor(target, dtype=torch.float32)
        head, tail = holdout_split(np.arange(len(origins)), self.steps_, self.holdout)
        return _Prepared(r, origins, x, tail, net, generator, (x[head], y[head]), (x[tail], y[tail]))

    def _finish(self, run: _Prepared) -> None:
        """Keep the trained net; skill shrinkage from its tail forecasts, then the interval."""
        self.net_ = run.net.eval()
        forecasts = self._forward(run.x)
        # The tail was only watched for early stopping, never fitted on: its forecasts are out of sample.
        self.fit_shrinkage(run.returns, run.origins[run.tail_rows], forecasts[run.tail_rows])
        self.calibrate(run.returns, run.origins, forecasts)

    def point_forecast(self, returns: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """The net's forecasts, back in log-return units."""
        return self._forward(self._inputs(returns, origins))

    def _inputs(self, r: np.ndarray, origins: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(sequence_features(r, origins, self.lookback, self.scale_), dtype=torch.float32)

    def _forward(self, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            out = self.net_(x).double().numpy()
        return out * self._target_scale()


@dataclass
class _Prepared:
    """A sequence model's training data and seeded net, between ``_prepare`` and ``_finish``."""

    returns: np.ndarray
    origins: np.ndarray
    x: torch.Tensor
    tail_rows: np.ndarray
    net: nn.Module
    generator: torch.Generator
    head: tuple[torch.Tensor, torch.Tensor]
    tail: tuple[torch.Tensor, torch.Tensor]


def _sequence_model(model: ForecastModel) -> SequenceNetModel:
    if not isinstance(model, SequenceNetModel):
        raise ValueError(f"SequenceNetModel.fit_batch got a {type(model).__name__}: expected sequence models only")
    return model


def _same_shape(a: nn.Module, b: nn.Module) -> bool:
    """Whether ``b`` can take ``a``'s weights: the same network class with parameters of the same shapes."""
    shapes_a = {k: v.shape for k, v in a.state_dict().items()}
    return type(a) is type(b) and shapes_a == {k: v.shape for k, v in b.state_dict().items()}
