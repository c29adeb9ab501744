"""Selection: where (pick elementwise from two tensors) and clip (clamp to a range).

Both pass a gradient through unchanged where a value was passed through, and
block it (zero) where it was not.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number, check_optional
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional.arithmetic import _binary_operands
from glassnet.functional.broadcast import unbroadcast

__all__ = ["where", "clip"]


class Where(Function):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return self.xp.where(self.condition, a, b)

    # dy/da = 1 where condition holds, else 0; dy/db = the opposite
    def backward(self, grad_y):
        zero = self.xp.zeros((), dtype=grad_y.dtype)
        grad_a = unbroadcast(self.xp.where(self.condition, grad_y, zero), self.a_shape)
        grad_b = unbroadcast(self.xp.where(self.condition, zero, grad_y), self.b_shape)
        return grad_a, grad_b


def where(condition, a, b) -> Tensor:
    """Elementwise choice ``y = a if condition else b``, broadcasting all three.

    Backward: ``grad_a = sum_to(grad_y · [condition], a.shape)``,
    ``grad_b = sum_to(grad_y · [not condition], b.shape)``; ``condition`` is a
    constant and gets no gradient. A Python number for ``a`` or ``b`` takes the
    other operand's dtype.

    Shapes: ``condition (*C)``, ``a (*A)``, ``b (*B)`` broadcastable; ``y`` has
    the broadcast shape. dtype: that of ``a`` and ``b``.

    Raises:
        DTypeError: if ``condition`` is not boolean, or float32 meets float64.
        ShapeError: if the three shapes do not broadcast together.
    """
    cond = condition.data if isinstance(condition, Tensor) else condition
    xp = get_array_module(cond, a, b)
    cond = xp.asarray(cond)
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: condition must be a bool array, got dtype {cond.dtype}")
    a, b = _binary_operands("where", a, b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"where: condition {cond.shape}, a {a.shape} and b {b.shape} cannot be broadcast together"
        ) from None
    return Where(cond).apply(a, b)


class Clip(Function):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    # dy/dx = 1 for lo <= x <= hi (bounds included, as torch.clamp), else 0
    def backward(self, grad_y):
        (x,) = self.saved
        inside = self.xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return self.xp.where(inside, grad_y, self.xp.zeros((), dtype=grad_y.dtype))


def clip(x, lo, hi) -> Tensor:
    """Clamp ``x`` elementwise to ``[lo, hi]``: ``y = min(max(x, lo), hi)``.

    Backward: ``grad_x = grad_y`` where ``lo <= x <= hi`` (bounds included, as
    ``torch.clamp``) and 0 where the value was clipped.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.

    Args:
        x: tensor.
        lo, hi: Python numbers; either may be ``None`` for no bound on that side.

    Raises:
        ConfigError: if a bound is not a real number or ``None`` (or is NaN), both are
            ``None``, or ``lo > hi``.
    """
    for name, v in (("lo", lo), ("hi", hi)):
        # an infinite bound is no bound; np.clip with a NaN bound would make every value NaN
        check_optional(v, check_number, name, "clip", finite=False)
    if lo is None and hi is None:
        raise ConfigError("clip: at least one of lo and hi must be given, got both None")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"clip: lo must be <= hi, got lo={lo}, hi={hi}")
    return Clip(lo, hi).apply(as_tensor(x))
