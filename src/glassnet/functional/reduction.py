"""Reductions: sum, mean, max and logsumexp over one, several or all axes.

A reduction maps ``x (*S)`` to ``y`` with the reduced axes removed (or kept
with size 1 under ``keepdims``). Its backward first puts the reduced axes
back as size 1 (``_expand``) so the gradient broadcasts against ``x``.
"""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ShapeError
from glassnet.functional._axis import normalize_axes

__all__ = ["sum", "mean", "max", "logsumexp"]


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with every reduced axis set to 1 (the ``keepdims=True`` shape)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand(grad_y, x_shape: tuple[int, ...], axes: tuple[int, ...]):
    """Reshape ``grad_y`` to the keepdims shape, so it broadcasts against ``x``."""
    return grad_y.reshape(_kept_shape(x_shape, axes))


def _reduced_size(name: str, shape: tuple[int, ...], axes: tuple[int, ...], allow_empty: bool) -> int:
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    if n == 0 and not allow_empty:
        raise ShapeError(f"{name}: cannot reduce x of shape {shape} over axis {axes}, which has no elements")
    return n


class Sum(Function):
    def __init__(self, axes: tuple[int, ...], keepdims: bool):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.x_shape = x.shape
        return self.xp.asarray(x.sum(axis=self.axes, keepdims=self.keepdims))

    # d sum(x)/dx_i = 1: every summed element gets grad_y (a read-only broadcast view)
    def backward(self, grad_y):
        return self.xp.broadcast_to(_expand(grad_y, self.x_shape, self.axes), self.x_shape)


class Mean(Function):
    def __init__(self, axes: tuple[int, ...], keepdims: bool, count: int):
        self.axes, self.keepdims, self.count = axes, keepdims, count

    def forward(self, x):
        self.x_shape = x.shape
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is nan, as in torch
            return self.xp.asarray(x.sum(axis=self.axes, keepdims=self.keepdims) / self.count)

    # d mean(x)/dx_i = 1 / n
    def backward(self, grad_y):
        # with n == 0, x is empty and the broadcast below has no elements: any divisor will do
        g = _expand(grad_y, self.x_shape, self.axes) / builtins.max(self.count, 1)
        return self.xp.broadcast_to(g, self.x_shape)


class Max(Function):
    def __init__(self, axes: tuple[int, ...], keepdims: bool):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        kept = [a for a in range(x.ndim) if a not in self.axes]
        self.perm = kept + list(self.axes)
        self.kept_dims = tuple(x.shape[a] for a in kept)
        self.red_dims = tuple(x.shape[a] for a in self.axes)
        self.red_size = int(np.prod(self.red_dims, dtype=np.int64))
        # the reduced axes side by side at the end, flattened to one: (*K, R)
        xt = x.transpose(self.perm).reshape(self.kept_dims + (self.red_size,))
        self.idx = xt.argmax(axis=-1)  # (*K,) the first maximum, like a stable argmax
        y = xp.take_along_axis(xt, self.idx[..., None], axis=-1)[..., 0]  # (*K,)
        return y.reshape(_kept_shape(x.shape, self.axes)) if self.keepdims else y

    # d max(x)/dx_i = 1 if i is the first maximum, else 0 (a subgradient where ties meet)
    def backward(self, grad_y):
        xp = self.xp
        g = grad_y.reshape(self.kept_dims + (1,))  # (*K, 1)
        first = self.idx[..., None] == xp.arange(self.red_size)  # (*K, R) one-hot of the first maximum
        gx = xp.where(first, g, xp.zeros((), dtype=grad_y.dtype))  # (*K, R)
        return gx.reshape(self.kept_dims + self.red_dims).transpose(np.argsort(self.perm))


class LogSumExp(Function):
    def __init__(self, axes: tuple[int, ...], keepdims: bool):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = self.xp
        m = x.max(axis=self.axes, keepdims=True)
        # subtracting the max keeps exp() <= 1 (no overflow); an infinite max
        # (all -inf, or a +inf) is replaced by 0 so that x - m is not inf - inf = nan
        m = xp.where(xp.isfinite(m), m, xp.zeros((), dtype=x.dtype))
        s = xp.exp(x - m).sum(axis=self.axes, keepdims=True)  # keepdims shape, >= 1 unless all -inf
        with np.errstate(divide="ignore"):  # log(0) = -inf for a row of -inf
            y = m + xp.log(s)
        self.save_for_backward(x, m, s)
        return y if self.keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    # d logsumexp(x)/dx_i = exp(x_i - y) = softmax(x)_i
    def backward(self, grad_y):
        x, m, s = self.saved
        # exp(x - m) / s rather than exp(x - y): y = m + log s is rounded at the
        # magnitude of m, which costs float32 digits when |m| is large (1e4)
        return _expand(grad_y, x.shape, self.axes) * (self.xp.exp(x - m) / s)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - the public name mirrors numpy.sum
    """Sum over ``axis``: ``y = Σ_{i ∈ axis} x_i``.

    Backward: ``grad_x = broadcast_to(grad_y, x.shape)`` (with the reduced axes
    put back as size 1 first).

    Shapes: ``x (*S)``; ``axis`` None (every axis), an int or a tuple of ints,
    negative counting from the end; ``y`` is ``(*S)`` without the reduced axes,
    or with them as size 1 when ``keepdims``. A sum over no elements is 0.
    dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range.
        ConfigError: if an axis is not an integer or is repeated.
    """
    x = as_tensor(x)
    return Sum(normalize_axes("sum", axis, x.ndim), bool(keepdims)).apply(x)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``: ``y = (1/n) Σ_{i ∈ axis} x_i``, ``n`` the number of reduced elements.

    Backward: ``grad_x = broadcast_to(grad_y / n, x.shape)``.

    Shapes: as :func:`sum`. dtype: that of ``x``. The mean over no elements is
    ``nan`` (as in NumPy and torch, without NumPy's warning).

    Raises:
        ShapeError: if an axis is out of range.
        ConfigError: if an axis is not an integer or is repeated.
    """
    x = as_tensor(x)
    axes = normalize_axes("mean", axis, x.ndim)
    return Mean(axes, bool(keepdims), _reduced_size("mean", x.shape, axes, allow_empty=True)).apply(x)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - the public name mirrors numpy.max
    """Maximum over ``axis``: ``y = max_{i ∈ axis} x_i``.

    Backward: ``grad_x_i = grad_y`` at the *first* maximum (in C order over the
    reduced axes, as ``argmax`` picks it) and 0 elsewhere. With ties this is
    one valid subgradient; deviation: ``torch.amax`` instead splits the
    gradient evenly among tied maxima (``torch.max(x, dim)`` picks one index).
    NaN propagates: a slice containing NaN has maximum NaN, as in NumPy.

    Shapes: as :func:`sum`. dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range, or if the reduced axes have no
            elements (a maximum of nothing is undefined).
        ConfigError: if an axis is not an integer or is repeated.
    """
    x = as_tensor(x)
    axes = normalize_axes("max", axis, x.ndim)
    _reduced_size("max", x.shape, axes, allow_empty=False)
    return Max(axes, bool(keepdims)).apply(x)


def logsumexp(x, axis=-1, keepdims: bool = False) -> Tensor:
    """Numerically stable ``y = log Σ_{i ∈ axis} exp(x_i)``.

    Computed as ``m + log Σ exp(x_i - m)`` with ``m = max x_i``, so no exp
    overflows (finite for logits of ±1e4 in float32); a slice of all ``-inf``
    gives ``-inf``. Backward: ``grad_x = grad_y * exp(x - y)`` (= ``grad_y *
    softmax(x)``).

    Shapes: ``x (*S)``; ``axis`` an int (default the last), a tuple or None;
    ``y`` as in :func:`sum`. dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range, or if the reduced axes have no
            elements (deviation: torch returns ``-inf`` there).
        ConfigError: if an axis is not an integer or is repeated.
    """
    x = as_tensor(x)
    axes = normalize_axes("logsumexp", axis, x.ndim)
    _reduced_size("logsumexp", x.shape, axes, allow_empty=False)
    return LogSumExp(axes, bool(keepdims)).apply(x)
