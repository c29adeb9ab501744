"""The small multilayer perceptrons the RL agents use (policy, baseline, Q-network)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from glassnet import nn
from glassnet.errors import ConfigError

__all__ = ["mlp"]


def mlp(sizes: Sequence[int], rng) -> nn.Sequential:
    """``Linear -> ReLU -> ... -> Linear`` through ``sizes = (D, H_1, ..., H_L, out)``; no activation at the end.

    Args:
        sizes: layer widths, at least (D, out).
        rng: numpy Generator or int seed for the initial weights (PyTorch's default init).

    Raises:
        ConfigError: for fewer than two sizes.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ConfigError(f"mlp: sizes must list at least (D, out), got {sizes}")
    rng = np.random.default_rng(rng)
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(d_in, d_out, rng=rng))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
