"""Reductions: sum, mean, max, min, var, std and logsumexp over one, several or all axes; argmax / argmin.

A reduction maps ``x (*S)`` to ``y`` with the reduced axes removed (or kept
with size 1 under ``keepdims``). Its backward first puts the reduced axes
back as size 1 (``_expand``) so the gradient broadcasts against ``x``.

Every reduction takes NumPy's ``axis=`` / ``keepdims=`` and, for PyTorch
users, their aliases ``dim=`` / ``keepdim=`` (giving both of a pair is a
ConfigError). ``argmax`` / ``argmin`` are not differentiable: they return an
integer array, not a Tensor.
"""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number
from glassnet.errors import ConfigError, ShapeError
from glassnet.functional._axis import axis_aliases, normalize_axes, normalize_axis
from glassnet.functional.arithmetic import neg, sqrt

__all__ = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin"]


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


class Var(Function):
    def __init__(self, axes: tuple[int, ...], keepdims: bool, count: int, ddof: float):
        self.axes, self.keepdims, self.count = axes, keepdims, count
        self.divisor = builtins.max(count - ddof, 0)  # NumPy's clamp: n - ddof < 0 divides by 0

    def forward(self, x):
        with np.errstate(invalid="ignore", divide="ignore"):  # n - ddof <= 0 gives inf or nan, as in NumPy
            d = x - x.sum(axis=self.axes, keepdims=True) / self.count  # (*S) deviations from the mean
            self.save_for_backward(d)
            return self.xp.asarray((d * d).sum(axis=self.axes, keepdims=self.keepdims) / self.divisor)

    # d var(x)/dx_i = 2 (x_i - mean) / (n - ddof); the path through the mean adds
    # -2 Σ_j (x_j - mean) / (n (n - ddof)) = 0, because deviations sum to zero
    def backward(self, grad_y):
        (d,) = self.saved
        with np.errstate(invalid="ignore", divide="ignore"):
            return _expand(grad_y, d.shape, self.axes) * (2 * d / self.divisor)


_LAST = object()  # logsumexp's default axis: the last one (a sentinel, so that giving axis and dim is detectable)


def sum(x, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:  # noqa: A001
    """Sum over ``axis``: ``y = Σ_{i ∈ axis} x_i``.

    Backward: ``grad_x = broadcast_to(grad_y, x.shape)`` (with the reduced axes
    put back as size 1 first).

    Shapes: ``x (*S)``; ``axis`` None (every axis), an int or a tuple of ints,
    negative counting from the end; ``y`` is ``(*S)`` without the reduced axes,
    or with them as size 1 when ``keepdims``. ``dim`` / ``keepdim`` are
    PyTorch's names for ``axis`` / ``keepdims``. A sum over no elements is 0.
    dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range.
        ConfigError: if an axis is not an integer or is repeated, if both
            ``axis`` and ``dim`` (or ``keepdims`` and ``keepdim``) are given, or
            if ``keepdims`` is not a bool.
    """
    x = as_tensor(x)
    axis, keepdims = axis_aliases("sum", axis, dim, keepdims, keepdim)
    return Sum(normalize_axes("sum", axis, x.ndim), keepdims).apply(x)


def mean(x, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:
    """Arithmetic mean over ``axis``: ``y = (1/n) Σ_{i ∈ axis} x_i``, ``n`` the number of reduced elements.

    Backward: ``grad_x = broadcast_to(grad_y / n, x.shape)``.

    Shapes: as :func:`sum` (``dim`` / ``keepdim`` alias ``axis`` / ``keepdims``).
    dtype: that of ``x``. The mean over no elements is ``nan`` (as in NumPy and
    torch, without NumPy's warning).

    Raises:
        ShapeError: if an axis is out of range.
        ConfigError: as :func:`sum`.
    """
    x = as_tensor(x)
    axis, keepdims = axis_aliases("mean", axis, dim, keepdims, keepdim)
    axes = normalize_axes("mean", axis, x.ndim)
    return Mean(axes, keepdims, _reduced_size("mean", x.shape, axes, allow_empty=True)).apply(x)


def max(x, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:  # noqa: A001
    """Maximum over ``axis``: ``y = max_{i ∈ axis} x_i``.

    Backward: ``grad_x_i = grad_y`` at the *first* maximum (in C order over the
    reduced axes, as ``argmax`` picks it) and 0 elsewhere. With ties this is
    one valid subgradient; deviation: ``torch.amax`` instead splits the
    gradient evenly among tied maxima (``torch.max(x, dim)`` picks one index).
    NaN propagates: a slice containing NaN has maximum NaN, as in NumPy.

    Deviation: ``x.max(dim=1)`` returns the values only, as ``torch.amax``
    (``torch.max(x, dim)`` returns ``(values, indices)``); use :func:`argmax`
    for the indices.

    Shapes: as :func:`sum` (``dim`` / ``keepdim`` alias ``axis`` / ``keepdims``).
    dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range, or if the reduced axes have no
            elements (a maximum of nothing is undefined).
        ConfigError: as :func:`sum`.
    """
    x = as_tensor(x)
    axis, keepdims = axis_aliases("max", axis, dim, keepdims, keepdim)
    axes = normalize_axes("max", axis, x.ndim)
    _reduced_size("max", x.shape, axes, allow_empty=False)
    return Max(axes, keepdims).apply(x)


def min(x, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:  # noqa: A001
    """Minimum over ``axis``: ``y = min_{i ∈ axis} x_i``, computed as ``-max(-x)``.

    Backward: ``grad_x_i = grad_y`` at the *first* minimum and 0 elsewhere (see
    :func:`max` for ties, NaN and the deviation from ``torch.min(x, dim)``,
    which also returns indices).

    Shapes: as :func:`sum` (``dim`` / ``keepdim`` alias ``axis`` / ``keepdims``).
    dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range or the reduced axes have no elements.
        ConfigError: as :func:`sum`.
    """
    x = as_tensor(x)
    axis, keepdims = axis_aliases("min", axis, dim, keepdims, keepdim)
    axes = normalize_axes("min", axis, x.ndim)
    _reduced_size("min", x.shape, axes, allow_empty=False)
    return neg(Max(axes, keepdims).apply(neg(x)))


def _ddof(name: str, ddof, correction) -> float:
    if correction is not None:
        if ddof != 0:
            raise ConfigError(f"{name}: give ddof or its alias correction, not both "
                              f"(got ddof={ddof!r}, correction={correction!r})")
        ddof = correction
    return check_number(ddof, "correction" if correction is not None else "ddof", name, min=0)


def _var(name: str, x, axis, keepdims, ddof, dim, keepdim, correction) -> Tensor:
    """:func:`var`, its errors named after ``name`` (``var`` or ``std``)."""
    x = as_tensor(x)
    axis, keepdims = axis_aliases(name, axis, dim, keepdims, keepdim)
    ddof = _ddof(name, ddof, correction)
    axes = normalize_axes(name, axis, x.ndim)
    return Var(axes, keepdims, _reduced_size(name, x.shape, axes, allow_empty=True), ddof).apply(x)


def var(x, axis=None, keepdims: bool = False, ddof: float = 0, *, dim=None, keepdim: bool | None = None,
        correction: float | None = None) -> Tensor:
    """Variance over ``axis``: ``y = Σ_{i ∈ axis} (x_i - x̄)² / (n - ddof)``, ``x̄`` the mean, ``n`` the count.

    Backward: ``grad_x = grad_y · 2 (x - x̄) / (n - ddof)`` (the path through
    ``x̄`` contributes nothing: the deviations sum to zero).

    Deviation: ``ddof`` defaults to 0 (the population variance, as NumPy);
    ``torch.var`` defaults to the unbiased ``correction=1``. ``correction`` is
    accepted as PyTorch's name for ``ddof``. With ``n - ddof <= 0`` the result
    is ``inf`` or ``nan`` (as NumPy and torch).

    Shapes: as :func:`sum` (``dim`` / ``keepdim`` alias ``axis`` / ``keepdims``).
    dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range.
        ConfigError: as :func:`sum`; also for a ``ddof`` that is not a number >= 0,
            or both ``ddof`` and ``correction``.
    """
    return _var("var", x, axis, keepdims, ddof, dim, keepdim, correction)


def std(x, axis=None, keepdims: bool = False, ddof: float = 0, *, dim=None, keepdim: bool | None = None,
        correction: float | None = None) -> Tensor:
    """Standard deviation over ``axis``: ``y = sqrt(var(x))`` (see :func:`var`, whose arguments it takes).

    Backward: ``grad_x = grad_y · (x - x̄) / ((n - ddof) y)``; infinite or NaN
    where ``y == 0`` (a constant slice), as torch gives NaN there.

    Deviation: ``ddof`` defaults to 0 (NumPy); ``torch.std`` defaults to ``correction=1``.

    Raises:
        ShapeError, ConfigError: as :func:`var`.
    """
    return sqrt(_var("std", x, axis, keepdims, ddof, dim, keepdim, correction))


def logsumexp(x, axis=_LAST, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Tensor:
    """Numerically stable ``y = log Σ_{i ∈ axis} exp(x_i)``.

    Computed as ``m + log Σ exp(x_i - m)`` with ``m = max x_i``, so no exp
    overflows (finite for logits of ±1e4 in float32); a slice of all ``-inf``
    gives ``-inf``. Backward: ``grad_x = grad_y * exp(x - y)`` (= ``grad_y *
    softmax(x)``).

    Shapes: ``x (*S)``; ``axis`` an int (default the last), a tuple or None;
    ``y`` as in :func:`sum` (``dim`` / ``keepdim`` alias ``axis`` / ``keepdims``).
    dtype: that of ``x``.

    Raises:
        ShapeError: if an axis is out of range, or if the reduced axes have no
            elements (deviation: torch returns ``-inf`` there).
        ConfigError: as :func:`sum`.
    """
    x = as_tensor(x)
    if dim is None and axis is _LAST:
        axis = -1
    axis, keepdims = axis_aliases("logsumexp", None if axis is _LAST else axis, dim, keepdims, keepdim)
    axes = normalize_axes("logsumexp", axis, x.ndim)
    _reduced_size("logsumexp", x.shape, axes, allow_empty=False)
    return LogSumExp(axes, keepdims).apply(x)


def _arg_extreme(name: str, x, axis, keepdims, dim, keepdim):
    data = x.data if isinstance(x, Tensor) else as_tensor(x).data
    axis, keepdims = axis_aliases(name, axis, dim, keepdims, keepdim)
    if data.size == 0:
        raise ShapeError(f"{name}: x of shape {data.shape} has no elements")
    if axis is None:  # the index into the flattened array, as NumPy and torch
        i = get_array_module(data).asarray(getattr(data.reshape(-1), name)())  # 0-d, not a NumPy scalar
        return i.reshape((1,) * data.ndim) if keepdims else i
    a = normalize_axis(name, axis, data.ndim, "axis" if dim is None else "dim")
    if data.shape[a] == 0:
        raise ShapeError(f"{name}: cannot reduce x of shape {data.shape} over axis {a}, which has no elements")
    i = getattr(data, name)(axis=a)
    return _keep_axis(i, a) if keepdims else i


def _keep_axis(i, a: int):
    """``i`` with a size-1 axis inserted at ``a`` (``keepdims`` for an index array)."""
    return i.reshape(i.shape[:a] + (1,) + i.shape[a:])


def argmax(x, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
    """Index of the first maximum over ``axis`` (an int, or None for the flattened array). Not differentiable.

    Returns an integer array (int64; NumPy, or CuPy when ``x`` lives on a GPU),
    not a Tensor: an index has no gradient, and an array compares with labels
    directly (``(F.argmax(logits, 1) == t).mean()``). Deviation: torch returns
    an integer tensor. ``dim`` / ``keepdim`` alias ``axis`` / ``keepdims``.

    Shapes: ``x (*S)``; the result is ``(*S)`` without ``axis`` (size 1 with
    ``keepdims``), or a 0-d array for ``axis=None``.

    Raises:
        ShapeError: if ``axis`` is out of range or ``x`` has no elements along it.
        ConfigError: if ``axis`` is not an integer, or both ``axis`` and ``dim`` are given.
    """
    return _arg_extreme("argmax", x, axis, keepdims, dim, keepdim)


def argmin(x, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None):
    """Index of the first minimum over ``axis``; as :func:`argmax` (an integer array, not differentiable).

    Shapes: ``x (*S)`` -> int64 ``(*S without axis)`` (``keepdims``: size 1 there); ``axis=None``: a 0-d
    index into the flattened ``x``. Raises ConfigError for a bad axis or both ``axis`` and ``dim``.
    """
    return _arg_extreme("argmin", x, axis, keepdims, dim, keepdim)
