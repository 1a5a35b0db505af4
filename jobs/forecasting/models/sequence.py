"""The neural sequence-model base (LSTM, Transformer): seeded init, early-stopped training, residual intervals."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict, cast

import numpy as np
import torch
from torch import nn

from jobs.forecasting.models.base import ForecastModel, ModelFitError
from jobs.forecasting.models.features import holdout_split, sequence_features
from jobs.forecasting.models.residual import ResidualIntervalModel


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser settings for ``train_net``."""

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
) -> int:
    """Adam on mean squared error over ``head``, early-stopped on ``tail``; restores the best weights.

    One network's case of ``train_nets``.

    Returns:
        The epoch (1-based) whose weights were kept.

    Raises:
        ModelFitError: When the loss becomes non-finite.
    """
    outcome = train_nets([net], [head], [tail], settings, [generator])[0]
    if isinstance(outcome, ModelFitError):
        raise outcome
    return outcome


def train_nets(
    nets: Sequence[nn.Module],
    heads: Sequence[tuple[torch.Tensor, torch.Tensor]],
    tails: Sequence[tuple[torch.Tensor, torch.Tensor]],
    settings: TrainSettings,
    generators: Sequence[torch.Generator],
) -> list[int | ModelFitError]:
    """Train independent networks together, each exactly as it would be trained alone.

    Per network: every epoch a fresh mini-batch order from its own generator, one Adam step per
    mini-batch on the mean squared error over its ``head``, then the loss on its ``tail``; the
    weights of the best tail loss are kept, and it stops ``patience`` epochs after that. Each
    network's forward and backward pass stay its own (torch's fused oneDNN LSTM kernels, which
    are faster here than any batched formulation measured, see docs/performance.md); its
    gradient lands in one flat buffer shared by all, and one Adam update per mini-batch moves
    every network (Adam is elementwise, so nothing is shared between them). A stopped network
    leaves the loop with its result kept. The arithmetic per network is the same as training it
    alone, so the results are equal (tested).

    Raises:
        ValueError: When the lists differ in length or the heads in size (they step together).

    Returns:
        Per network, the kept epoch (1-based), or the ``ModelFitError`` that dropped it: a loss
        that became non-finite, or a tail loss that never was finite.
    """
    if not len(nets) == len(heads) == len(tails) == len(generators):
        raise ValueError(f"train_nets needs one head, tail and generator per network, got {len(nets)} networks, "
                         f"{len(heads)} heads, {len(tails)} tails, {len(generators)} generators")
    if len({len(head[1]) for head in heads}) > 1:
        raise ValueError(f"train_nets needs heads of one size, got {sorted({len(head[1]) for head in heads})}")
    runs = [_Run(net) for net in nets]
    adam = _FlatAdam(nets, settings.lr, settings.weight_decay)
    try:
        active = list(range(len(nets)))
        for epoch in range(1, settings.max_epochs + 1):
            active = _epoch(nets, heads, settings, [(i, generators[i]) for i in active], runs, adam, epoch)
            for i in active:
                runs[i].watch(epoch, _tail_loss(nets[i], tails[i]))
            active = [i for i in active if epoch - runs[i].best_epoch < settings.patience]
            if not active:
                break
    finally:
        adam.release()
    return [run.finish() for run in runs]


def _epoch(nets: Sequence[nn.Module], heads: Sequence[tuple[torch.Tensor, torch.Tensor]], settings: TrainSettings,
           active: list[tuple[int, torch.Generator]], runs: list[_Run], adam: _FlatAdam, epoch: int) -> list[int]:
    """One epoch of the ``active`` networks; returns those still training (a non-finite loss drops one)."""
    orders = {i: torch.randperm(len(heads[i][0]), generator=generator) for i, generator in active}
    for i in orders:
        nets[i].train()
    for start in range(0, len(heads[active[0][0]][0]), settings.batch_size):
        adam.zero_grad()
        stepped = False
        for i in orders:
            if runs[i].error is not None:
                continue
            batch = orders[i][start: start + settings.batch_size]
            loss = nn.functional.mse_loss(nets[i](heads[i][0][batch]), heads[i][1][batch])
            if torch.isfinite(loss):
                # Each net's backward right after its forward, while its activations are in cache.
                loss.backward()
                stepped = True
            else:  # as alone: this network stops before the step, the others carry on
                runs[i].error = ModelFitError(f"training loss became non-finite at epoch {epoch}")
        if stepped:
            adam.step()
    return [i for i in orders if runs[i].error is None]


class _FlatAdam:
    """``torch.optim.Adam`` (L2 weight decay, its defaults) over many networks' parameters at once.

    Every parameter and its gradient become views into one flat tensor each, so an update is
    six tensor operations for all the networks instead of a dozen per parameter tensor. The
    arithmetic is ``torch.optim.Adam``'s, element by element, and every network steps together
    (the heads have one size), so each sees its own step count.
    """

    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, nets: Sequence[nn.Module], lr: float, weight_decay: float) -> None:
        self.params = [p for net in nets for p in net.parameters()]
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
    """One network's early-stopping record in ``train_nets``."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self.best_loss, self.best_epoch, self.best_state = float("inf"), 0, _snapshot(net)
        self.error: ModelFitError | None = None

    def watch(self, epoch: int, loss: float) -> None:
        """Keep the weights when the tail loss improved."""
        if loss < self.best_loss:
            self.best_loss, self.best_epoch, self.best_state = loss, epoch, _snapshot(self.net)

    def finish(self) -> int | ModelFitError:
        """Restore the best weights; the kept epoch, or why the network failed."""
        if self.error is None and not np.isfinite(self.best_loss):
            self.error = ModelFitError("validation loss was never finite")
        if self.error is not None:
            return self.error
        self.net.load_state_dict(self.best_state)
        return self.best_epoch


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


class SequenceArgs(TypedDict, total=False):
    """``SequenceNetModel``'s arguments, which each network's model passes through as keywords."""

    seed: int
    interval: float
    lookback: int
    holdout: float
    settings: TrainSettings | None


class SequenceNetModel(ResidualIntervalModel):
    """Base for the torch sequence forecasters; subclasses only build the network.

    Args:
        seed: Seeds initialisation and mini-batch order.
        interval: Central prediction interval level in (0, 1).
        lookback: Bars of history fed to the net.
        holdout: Fraction of the training origins held out (the tail) for early stopping.
        settings: Optimiser settings.
    """

    min_train = 120

    def __init__(
        self,
        seed: int = 0,
        interval: float = 0.9,
        lookback: int = 20,
        holdout: float = 0.2,
        settings: TrainSettings | None = None,
    ) -> None:
        super().__init__(seed=seed, interval=interval)
        if lookback < 2:
            raise ValueError(f"lookback={lookback!r} is invalid: expected at least 2 bars")
        if not 0.05 <= holdout <= 0.5:
            raise ValueError(f"holdout={holdout!r} is invalid: expected a fraction in [0.05, 0.5]")
        self.lookback = lookback
        self.holdout = holdout
        self.settings = settings or TrainSettings()

    @abstractmethod
    def build_net(self, n_inputs: int) -> nn.Module:
        """A network mapping ``(batch, lookback, n_inputs)`` to ``(batch,)`` forecasts."""

    def fit(self, returns: np.ndarray, steps: int) -> SequenceNetModel:
        """Train on the training slice (see the module docstring for the scheme).

        Raises:
            ModelFitError: On a constant series or a loss that becomes non-finite.
            ValueError: On invalid input.
        """
        run = self._prepare(returns, steps)
        self.best_epoch_ = train_net(run.net, run.head, run.tail, self.settings, run.generator)
        self._finish(run)
        return self

    @classmethod
    def fit_batch(cls, models: Sequence[ForecastModel], slices: Sequence[np.ndarray],
                  steps: int) -> list[ForecastModel | Exception]:
        """Fit many nets of this kind, each on its slice, training them together (``train_nets``).

        The walk-forward's path: a symbol-horizon's windows are independent nets of one shape.
        Each ends exactly as its own ``fit`` would leave it; nets with different optimiser
        settings or training-slice lengths train in separate groups.
        """
        out: list[ForecastModel | Exception | None] = [None] * len(models)
        runs: dict[int, _Prepared] = {}
        for i, (model, returns) in enumerate(zip(models, slices, strict=True)):
            try:
                runs[i] = _sequence_model(model)._prepare(returns, steps)
            except Exception as exc:  # this model fails in this window only (see ForecastModel.fit_batch)
                out[i] = exc
        groups: dict[tuple[TrainSettings, int], list[int]] = {}
        for i, run in runs.items():  # nets train together when they step together
            groups.setdefault((_sequence_model(models[i]).settings, len(run.head[1])), []).append(i)
        for (settings, _), members in groups.items():
            outcomes = train_nets([runs[i].net for i in members], [runs[i].head for i in members],
                                  [runs[i].tail for i in members], settings, [runs[i].generator for i in members])
            for i, outcome in zip(members, outcomes, strict=True):
                out[i] = _finished(_sequence_model(models[i]), runs[i], outcome)
        return cast(list[ForecastModel | Exception], out)  # every position was set above

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
        # The tail was only watched for early stopping, never fitted on: its forecasts are out of sample.
        self.fit_shrinkage(run.returns, run.origins[run.tail_rows], self._forward(run.x[run.tail_rows]))
        self.calibrate(run.returns, run.origins, self._forward(run.x))

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


def _finished(model: SequenceNetModel, run: _Prepared, outcome: int | ModelFitError) -> ForecastModel | Exception:
    if isinstance(outcome, ModelFitError):
        return outcome
    model.best_epoch_ = outcome
    try:
        model._finish(run)
    except Exception as exc:  # this model fails in this window only (see ForecastModel.fit_batch)
        return exc
    return model
