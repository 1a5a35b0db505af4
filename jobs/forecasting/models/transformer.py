"""A tiny transformer-encoder forecaster (d_model 16, one layer, lookback 10).

It shares the LSTM's training scheme, early stopping on a held-out tail of the training
slice, seeding and volatility-scaled interval (``jobs.forecasting.models.sequence.SequenceNetModel``);
only the network differs.
"""

from __future__ import annotations

from typing import Unpack

import torch
from torch import nn

from jobs.forecasting.models.sequence import SequenceArgs, SequenceNetModel


class _EncoderNet(nn.Module):
    def __init__(self, n_inputs: int, lookback: int, d_model: int, heads: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Linear(n_inputs, d_model)
        # Learned positions: the order of the bars is the whole signal.
        self.position = nn.Parameter(torch.zeros(1, lookback, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x) + self.position)
        return self.head(h[:, -1, :]).squeeze(-1)


class TransformerModel(SequenceNetModel):
    """Transformer encoder over the last ``lookback`` bars, read out at the last bar.

    Args:
        base: ``seed``, ``interval``, ``lookback``, ``holdout``, ``settings``: see ``SequenceNetModel``.
        d_model: Embedding width.
        heads: Attention heads (must divide ``d_model``).
        layers: Encoder layers.
    """

    name = "TRANSFORMER"

    def __init__(self, *, d_model: int = 16, heads: int = 2, layers: int = 1, **base: Unpack[SequenceArgs]) -> None:
        super().__init__(**base)
        if d_model < 1 or heads < 1 or layers < 1 or d_model % heads:
            raise ValueError(
                f"d_model={d_model!r}, heads={heads!r}, layers={layers!r} are invalid: "
                "expected positive integers with heads dividing d_model"
            )
        self.d_model = d_model
        self.heads = heads
        self.layers = layers

    def build_net(self, n_inputs: int) -> nn.Module:
        """The encoder network."""
        return _EncoderNet(n_inputs, self.lookback, self.d_model, self.heads, self.layers)
