"""``MLP``: the multilayer perceptron of the course, ``Linear -> activation [-> Dropout]`` repeated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glassnet import nn
from glassnet.checks import as_generator, check_number
from glassnet.errors import ConfigError

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS: dict[str, type] = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
# the course's rule: He init keeps the activations' variance through ReLUs, Xavier through tanh/sigmoid
_INIT = {"relu": nn.init.he_normal, "leaky_relu": nn.init.he_normal, "tanh": nn.init.xavier_normal,
         "sigmoid": nn.init.xavier_normal}


class MLP(nn.Module):
    """Multilayer perceptron: ``h_0 = x``, ``h_l = dropout(act(h_{l-1} W_l + b_l))``, logits ``h_{L-1} W_L + b_L``.

    Shapes: ``x (N, D)`` -> logits ``(N, K)`` with ``D = sizes[0]``, ``K = sizes[-1]``;
    ``W_l (sizes[l-1], sizes[l])``. The last layer has no activation: it outputs
    logits for ``softmax_cross_entropy``.

    Parameters are named ``layers.<i>.W`` / ``layers.<i>.b`` (``i`` counts the
    Linear, activation and Dropout modules of ``layers``, an ``nn.Sequential``).
    Init: weights feeding a ReLU (or leaky ReLU) are He-normal, ``N(0, 2/D_in)``
    (He et al. 2015), those feeding tanh or sigmoid Xavier-normal,
    ``N(0, 2/(D_in + D_out))`` (Glorot & Bengio 2010), and the output layer's
    follow the hidden activation's rule; biases start at 0.

    Args:
        sizes: layer widths ``[D, H_1, ..., K]``, at least two ints >= 1.
        activation: ``"relu"``, ``"leaky_relu"``, ``"tanh"`` or ``"sigmoid"``.
        dropout: drop probability after each hidden activation, in ``[0, 1)`` (0: no Dropout layers).
        rng: numpy Generator or int seed (or None) for the weights and the dropout masks;
            a seed gives the same model and masks every time.

    Raises:
        ConfigError: fewer than two sizes, a size < 1, an unknown activation, a bad dropout.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0, rng: Any = None) -> None:
        super().__init__()
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if (not isinstance(sizes, list) or len(sizes) < 2
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes)):
            raise ConfigError(f"MLP: sizes must be a list of at least two ints >= 1 ([D, H..., K]), got {sizes!r}")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"MLP: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        dropout = check_number(dropout, "dropout", "MLP", min=0.0, max=1.0, max_open=True)
        gen = as_generator(rng, "MLP: rng")
        # separate streams: changing the dropout rate never changes the initial weights
        init_rng, drop_rng = gen.spawn(2)
        self.sizes, self.activation, self.dropout = [int(s) for s in sizes], activation, float(dropout)
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            linear = nn.Linear(d_in, d_out, rng=init_rng)  # (N, d_in) -> (N, d_out)
            linear.W.data = _INIT[activation]((d_in, d_out), init_rng)
            linear.b.data = nn.init.zeros((d_out,))
            layers.append(linear)
            if i < len(self.sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
                if self.dropout > 0:
                    layers.append(nn.Dropout(self.dropout, rng=drop_rng))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        return self.layers(x)  # (N, D) -> (N, K)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}, dropout={self.dropout}"
