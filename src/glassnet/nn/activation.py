"""Activation layers: thin Modules around the functions in ``glassnet.functional.activation``.

Each one is stateless and computes its function elementwise (softmax and
log-softmax along ``axis``); the formulas, gradients and numerics are
documented on the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import functional as F
from glassnet.autograd import as_tensor
from glassnet.checks import check_int, check_number, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.nn.module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Unflatten"]


class ReLU(Module):
    """``y = max(x, 0)`` (:func:`glassnet.functional.relu`). Shapes: ``(*S) -> (*S)``."""

    def forward(self, x: Any) -> Any:
        return F.relu(x)


class LeakyReLU(Module):
    """``y = x if x > 0 else slope·x`` (:func:`glassnet.functional.leaky_relu`). Shapes: ``(*S) -> (*S)``.

    Raises:
        ConfigError: if ``slope`` is not a finite number.
    """

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = check_number(slope, "slope", "LeakyReLU")

    def forward(self, x: Any) -> Any:
        return F.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Sigmoid(Module):
    """``y = 1 / (1 + e^{-x})`` (:func:`glassnet.functional.sigmoid`). Shapes: ``(*S) -> (*S)``."""

    def forward(self, x: Any) -> Any:
        return F.sigmoid(x)


class Tanh(Module):
    """``y = tanh x`` (:func:`glassnet.functional.tanh`). Shapes: ``(*S) -> (*S)``."""

    def forward(self, x: Any) -> Any:
        return F.tanh(x)


class Softmax(Module):
    """``y_i = e^{x_i} / Σ_j e^{x_j}`` along ``axis`` (:func:`glassnet.functional.softmax`).

    Raises:
        ConfigError: if ``axis`` is not an int.
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = check_int(axis, "axis", "Softmax")

    def forward(self, x: Any) -> Any:
        return F.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """``y_i = x_i - log Σ_j e^{x_j}`` along ``axis`` (:func:`glassnet.functional.log_softmax`).

    Raises:
        ConfigError: if ``axis`` is not an int.
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = check_int(axis, "axis", "LogSoftmax")

    def forward(self, x: Any) -> Any:
        return F.log_softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Flatten(Module):
    """Merge the axes from ``start_axis`` on: ``(N, C, H, W) -> (N, C·H·W)`` (:func:`glassnet.functional.flatten`).

    Raises:
        ConfigError: if ``start_axis`` is not an int.
    """

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        self.start_axis = check_int(start_axis, "start_axis", "Flatten")

    def forward(self, x: Any) -> Any:
        return F.flatten(x, start_axis=self.start_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"


class Unflatten(Module):
    """Split axis 1 into ``shape``: ``(N, C·H·W) -> (N, C, H, W)`` (``torch.nn.Unflatten(1, shape)``).

    The inverse of :class:`Flatten`; it lets a convolutional network take flat rows of pixels.

    Raises:
        ConfigError: a ``shape`` that is not a tuple of ints >= 1.
        ShapeError: (forward) an axis 1 whose size is not the product of ``shape``.
    """

    def __init__(self, shape) -> None:
        super().__init__()
        try:
            self.shape = tuple(check_size(s, "shape", "Unflatten") for s in shape)
        except TypeError:
            raise ConfigError(f"Unflatten: shape must be a tuple of ints >= 1, got {shape!r}") from None

    def forward(self, x: Any) -> Any:
        x = as_tensor(x)
        if x.ndim < 2 or x.shape[1] != int(np.prod(self.shape)):
            raise ShapeError(f"Unflatten: x must be (N, {int(np.prod(self.shape))}, ...) to become "
                             f"(N, {', '.join(map(str, self.shape))}, ...), got {x.shape}")
        return F.reshape(x, (x.shape[0], *self.shape, *x.shape[2:]))

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
