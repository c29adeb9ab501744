"""``Linear``: the dense (fully connected, affine) layer ``y = x @ W + b``."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import functional as F
from glassnet.autograd import as_tensor
from glassnet.checks import as_generator, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.nn import init
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter

__all__ = ["Linear"]


class Linear(Module):
    """Affine layer ``y = x W + b``, applied to the last axis.

    Shapes (D = ``in_features``, H = ``out_features``):
        ``x (N, D)``, ``(N, T, D)`` or any ``(*, D)`` -> ``y (N, H)``, ``(N, T, H)``, ``(*, H)``;
        ``W (D, H)`` (glassnet's ``(in, out)`` layout: PyTorch's ``weight`` is ``W.T``), ``b (H,)``.

    dtype: float32 parameters by default (``to(np.float64)`` for checks); ``x``
    must have the parameters' dtype.

    Init (PyTorch's default, so weights can be copied either way):
    ``W, b ~ U(-1/√D, 1/√D)`` (:func:`glassnet.nn.init.linear_uniform`). To use
    another scheme, assign ``layer.W.data = init.he_normal((D, H), rng)`` etc.

    Args:
        in_features: D.
        out_features: H.
        bias: whether to add ``b`` (``self.b`` is None otherwise).
        rng: numpy Generator, int seed or None for the initial weights.

    Raises:
        ConfigError: if a size is not a positive int, ``bias`` is not a bool or ``rng`` is invalid.
        ShapeError: (forward) if ``x``'s last axis is not the layer's D.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng: Any = None) -> None:
        super().__init__()
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        if not isinstance(bias, (bool, np.bool_)):
            raise ConfigError(f"Linear: bias must be a bool, got {bias!r}")
        rng = as_generator(rng, "Linear: rng")
        D, H = self.in_features, self.out_features
        self.W = Parameter(init.linear_uniform((D, H), D, rng))  # (D, H)
        self.b = Parameter(init.linear_uniform((H,), D, rng)) if bias else None  # (H,)

    def forward(self, x: Any) -> Any:
        x = as_tensor(x)  # a nested list of floats works as in F.linear (and its shape can be reported)
        shape = x.shape
        if len(shape) == 0 or shape[-1] != self.in_features:
            raise ShapeError(f"Linear: x must be (N, D), (N, T, D) or (*, D) with D == {self.in_features}, got {shape}")
        return F.linear(x, self.W, self.b)  # (*, H)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.b is not None}"
