"""The neural sequence-model base (LSTM, Transformer): seeded init, early-stopped training, residual intervals."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import torch
from torch import nn

from jobs.forecasting.models.base import ModelFitError
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

    Returns:
        The epoch (1-based) whose weights were kept.

    Raises:
        ModelFitError: When the loss becomes non-finite.
    """
    x_head, y_head = head
    x_tail, y_tail = tail
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    loss_fn = nn.MSELoss()
    best_loss, best_epoch, best_state = float("inf"), 0, _snapshot(net)
    for epoch in range(1, settings.max_epochs + 1):
        net.train()
        order = torch.randperm(len(x_head), generator=generator)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(x_head[batch]), y_head[batch])
            if not torch.isfinite(loss):
                raise ModelFitError(f"training loss became non-finite at epoch {epoch}")
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(loss_fn(net(x_tail), y_tail))
        if val < best_loss:
            best_loss, best_epoch, best_state = val, epoch, _snapshot(net)
        elif epoch - best_epoch >= settings.patience:
            break
    if not np.isfinite(best_loss):
        raise ModelFitError("validation loss was never finite")
    net.load_state_dict(best_state)
    return best_epoch


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
        r, origins, target = self._training_targets(returns, steps)
        generator = torch.Generator().manual_seed(self.seed)
        net = self.build_net(2)
        seeded_init(net, generator)
        x = self._inputs(r, origins)
        y = torch.as_tensor(target, dtype=torch.float32)
        head, tail = holdout_split(np.arange(len(origins)), self.steps_, self.holdout)
        self.best_epoch_ = train_net(net, (x[head], y[head]), (x[tail], y[tail]), self.settings, generator)
        self.net_ = net.eval()
        # The tail was only watched for early stopping, never fitted on: its forecasts are out of sample.
        self.fit_shrinkage(r, origins[tail], self._forward(x[tail]))
        self.calibrate(r, origins, self._forward(x))
        return self

    def point_forecast(self, returns: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """The net's forecasts, back in log-return units."""
        return self._forward(self._inputs(returns, origins))

    def _inputs(self, r: np.ndarray, origins: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(sequence_features(r, origins, self.lookback, self.scale_), dtype=torch.float32)

    def _forward(self, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            out = self.net_(x).double().numpy()
        return out * self._target_scale()
