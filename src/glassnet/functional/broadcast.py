"""Broadcasting and its undoing: ``broadcast_to`` and ``sum_to``.

Broadcasting copies a value along new or size-1 axes, so its derivative sums
the gradient back over those axes. Every op that broadcasts its inputs undoes
it with the one array helper :func:`unbroadcast`.
"""

from __future__ import annotations

import operator

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ConfigError, ShapeError

__all__ = ["broadcast_to", "sum_to", "unbroadcast"]


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape`` (the inverse of NumPy broadcasting).

    Leading axes that broadcasting added are summed away; axes where ``shape``
    has size 1 are summed with ``keepdims``. Returns ``grad`` itself when the
    shapes already match (callers must not write into it).
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        out = out.reshape(out.shape[lead:])
    return out


def _shape_arg(name: str, shape) -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints) as a tuple; a float or string size is an error, not truncated."""
    try:
        items = (shape,) if isinstance(shape, str) or not hasattr(shape, "__iter__") else tuple(shape)
        return tuple(operator.index(s) for s in items)
    except TypeError:
        raise ConfigError(f"{name}: shape must be an int or a sequence of ints, got {shape!r}") from None


def _check_broadcastable(name: str, src: tuple[int, ...], shape: tuple[int, ...]) -> None:
    if len(src) > len(shape) or any(s not in (1, t) for s, t in zip(src[::-1], shape[::-1])):
        raise ShapeError(f"{name}: cannot broadcast shape {src} to {shape}")


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        return self.xp.broadcast_to(x, self.shape).copy()

    # d broadcast(x)/dx: sum the copies back
    def backward(self, grad_y):
        return unbroadcast(grad_y, self.x_shape)


class SumTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        return self.xp.ascontiguousarray(unbroadcast(x, self.shape))

    # d sum_to(x)/dx: every summed element gets the same gradient
    def backward(self, grad_y):
        return self.xp.broadcast_to(grad_y, self.x_shape).copy()


def broadcast_to(x, shape) -> Tensor:
    """Broadcast ``x`` to ``shape`` following NumPy's rules.

    Formula: ``y[..., i, ...] = x[..., 0 or i, ...]``; backward: ``grad_x = sum_to(grad_y, x.shape)``.

    Shapes: ``x`` any shape ``(*S)`` broadcastable to ``shape``; ``y`` has ``shape``.
    dtype: that of ``x``.

    Raises:
        ShapeError: if ``x.shape`` cannot broadcast to ``shape``.
        ConfigError: if ``shape`` holds something other than ints.
    """
    x = as_tensor(x)
    shape = _shape_arg("broadcast_to", shape)
    _check_broadcastable("broadcast_to", x.shape, shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape).apply(x)


def sum_to(x, shape) -> Tensor:
    """Sum ``x`` down to ``shape``: the adjoint of :func:`broadcast_to`.

    Formula: ``y = sum of x over the axes broadcasting would add or expand``;
    backward: ``grad_x = broadcast_to(grad_y, x.shape)``.

    Shapes: ``shape`` must broadcast to ``x.shape``; ``y`` has ``shape``.
    dtype: that of ``x``.

    Raises:
        ShapeError: if ``shape`` does not broadcast to ``x.shape``.
        ConfigError: if ``shape`` holds something other than ints.
    """
    x = as_tensor(x)
    shape = _shape_arg("sum_to", shape)
    _check_broadcastable("sum_to", shape, x.shape)
    if x.shape == shape:
        return x
    return SumTo(shape).apply(x)
