"""Elementwise arithmetic: add, sub, mul, div, neg, pow, exp, log, sqrt; the dtype cast astype.

Binary ops broadcast like NumPy; their backward sums the gradient back to each
input's shape with :func:`~glassnet.functional.broadcast.unbroadcast`. Python
numbers take the dtype of the tensor they meet (``x * 2.0`` stays float32).
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import FLOAT_DTYPES
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional.broadcast import unbroadcast

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "astype"]


def _binary_operands(name: str, a, b) -> tuple[Tensor, Tensor]:
    """Tensors for a binary op; a bare number takes the other operand's dtype."""
    if isinstance(a, Tensor):
        b = as_tensor(b, like=a)
    elif isinstance(b, Tensor):
        a = as_tensor(a, like=b)
    else:
        a, b = as_tensor(a), as_tensor(b)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    return promote_to_float(a, b)


def promote_to_float(*ts: Tensor) -> tuple[Tensor, ...]:
    """Cast integer/bool operands to the dtype of the float operand they meet (as torch does).

    NumPy would promote ``int64 + float32`` to float64: the op would silently
    leave float32 and the float32 input would get a float64 gradient.

    Shapes: ``ts`` Tensors of any shapes -> the same Tensors, same shapes, in
    order. dtype: int/uint/bool operands take the dtype of the *first* float
    operand (``int64`` with ``float32`` -> ``float32``); float operands are left
    as they are (``float32`` with ``float64`` stays mixed, NumPy then promotes);
    with no float operand nothing changes. A cast operand is a new Tensor
    without ``requires_grad`` (integers get no gradient).
    """
    floats = [t.dtype for t in ts if t.dtype.kind == "f"]
    if not floats:
        return ts
    return tuple(Tensor(t.data.astype(floats[0])) if t.dtype.kind in "biu" else t for t in ts)


class Add(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    # d(a + b)/da = 1, d(a + b)/db = 1
    def backward(self, grad_y):
        return unbroadcast(grad_y, self.a_shape), unbroadcast(grad_y, self.b_shape)


class Sub(Function):
    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    # d(a - b)/da = 1, d(a - b)/db = -1
    def backward(self, grad_y):
        return unbroadcast(grad_y, self.a_shape), unbroadcast(-grad_y, self.b_shape)


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    # d(a * b)/da = b, d(a * b)/db = a
    def backward(self, grad_y):
        a, b = self.saved
        grad_a = unbroadcast(grad_y * b, a.shape) if self.needs_input_grad[0] else None
        grad_b = unbroadcast(grad_y * a, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    # d(a / b)/da = 1 / b, d(a / b)/db = -a / b²
    def backward(self, grad_y):
        a, b = self.saved
        grad_a = grad_y / b
        grad_b = unbroadcast(-grad_a * a / b, b.shape) if self.needs_input_grad[1] else None
        return unbroadcast(grad_a, a.shape), grad_b


class Neg(Function):
    def forward(self, x):
        return -x

    # d(-x)/dx = -1
    def backward(self, grad_y):
        return -grad_y


class Pow(Function):
    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        self.save_for_backward(x)
        return x**self.c

    # d x^c / dx = c x^(c-1); for c = 0, x^0 = 1 is a constant and the derivative is 0 everywhere
    # (the formula would give 0 * 0^(-1) = NaN at x = 0)
    def backward(self, grad_y):
        (x,) = self.saved
        if self.c == 0:
            return self.xp.zeros_like(grad_y)
        return grad_y * (self.c * x ** (self.c - 1))


class Exp(Function):
    def forward(self, x):
        y = self.xp.exp(x)
        self.save_for_backward(y)
        return y

    # d exp(x)/dx = exp(x) = y
    def backward(self, grad_y):
        (y,) = self.saved
        return grad_y * y


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.log(x)

    # d log(x)/dx = 1 / x
    def backward(self, grad_y):
        (x,) = self.saved
        return grad_y / x


class Sqrt(Function):
    def forward(self, x):
        y = self.xp.sqrt(x)
        self.save_for_backward(y)
        return y

    # d sqrt(x)/dx = 1 / (2 sqrt(x)) = 1 / (2 y)
    def backward(self, grad_y):
        (y,) = self.saved
        return grad_y / (2 * y)


def add(a, b) -> Tensor:
    """Elementwise sum ``y = a + b`` with NumPy broadcasting.

    Backward: ``grad_a = sum_to(grad_y, a.shape)``, ``grad_b = sum_to(grad_y, b.shape)``.

    Shapes: ``a (*A)``, ``b (*B)`` broadcastable; ``y`` has the broadcast shape.
    dtype: the inputs' (float32 and float64 may not be mixed).

    Raises:
        ShapeError: if the shapes do not broadcast.
        DTypeError: if float32 meets float64.
    """
    return Add().apply(*_binary_operands("add", a, b))


def sub(a, b) -> Tensor:
    """Elementwise difference ``y = a - b`` with broadcasting.

    Backward: ``grad_a = sum_to(grad_y, a.shape)``, ``grad_b = -sum_to(grad_y, b.shape)``.

    Shapes: ``a (*A)``, ``b (*B)`` broadcastable; ``y`` the broadcast shape. dtype: the inputs'.

    Raises:
        ShapeError: if the shapes do not broadcast.
        DTypeError: if float32 meets float64.
    """
    return Sub().apply(*_binary_operands("sub", a, b))


def mul(a, b) -> Tensor:
    """Elementwise (Hadamard) product ``y = a * b`` with broadcasting.

    Backward: ``grad_a = sum_to(grad_y * b, a.shape)``, ``grad_b = sum_to(grad_y * a, b.shape)``.

    Shapes: ``a (*A)``, ``b (*B)`` broadcastable; ``y`` the broadcast shape. dtype: the inputs'.

    Raises:
        ShapeError: if the shapes do not broadcast.
        DTypeError: if float32 meets float64.
    """
    return Mul().apply(*_binary_operands("mul", a, b))


def div(a, b) -> Tensor:
    """Elementwise quotient ``y = a / b`` with broadcasting.

    Backward: ``grad_a = sum_to(grad_y / b, a.shape)``, ``grad_b = sum_to(-grad_y a / b², b.shape)``.

    Shapes: ``a (*A)``, ``b (*B)`` broadcastable; ``y`` the broadcast shape. dtype: the inputs'.
    Division by zero follows IEEE 754 (``inf``/``nan``), as NumPy does.

    Raises:
        ShapeError: if the shapes do not broadcast.
        DTypeError: if float32 meets float64.
    """
    return Div().apply(*_binary_operands("div", a, b))


def neg(x) -> Tensor:
    """Negation ``y = -x``; backward ``grad_x = -grad_y``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.
    """
    return Neg().apply(as_tensor(x))


def pow(x, c) -> Tensor:
    """Power with a constant exponent, ``y = x ** c``.

    Backward: ``grad_x = grad_y * c * x ** (c - 1)``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.

    Args:
        x: base tensor.
        c: exponent, a Python number (a tensor exponent is not supported; use
            ``exp(c * log(x))``).

    Raises:
        ConfigError: if ``c`` is not a real number.
    """
    if isinstance(c, Tensor) or not isinstance(c, (int, float, np.integer, np.floating)) or isinstance(c, bool):
        raise ConfigError(f"pow: exponent c must be a Python number, got {type(c).__name__}")
    return Pow(float(c) if not isinstance(c, (int, np.integer)) else int(c)).apply(as_tensor(x))


def exp(x) -> Tensor:
    """Elementwise exponential ``y = e^x``; backward ``grad_x = grad_y * y``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``. Overflows to ``inf``
    past ``x ≈ 88.7`` (float32) or ``709.8`` (float64), as NumPy does.
    """
    return Exp().apply(as_tensor(x))


def log(x) -> Tensor:
    """Elementwise natural logarithm ``y = ln x``; backward ``grad_x = grad_y / x``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``. ``log(0) = -inf``
    and negative inputs give ``nan``, as NumPy does (with its warning).
    """
    return Log().apply(as_tensor(x))


def sqrt(x) -> Tensor:
    """Elementwise square root ``y = √x``; backward ``grad_x = grad_y / (2 y)``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``. The gradient at
    ``x = 0`` is ``inf``.
    """
    return Sqrt().apply(as_tensor(x))


class AsType(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    # d cast(x)/dx = 1: the gradient is cast back to x's dtype
    def backward(self, grad_y):
        return grad_y.astype(self.x_dtype)


def astype(x, dtype) -> Tensor:
    """``x`` cast to ``dtype`` (always a copy), as ``ndarray.astype`` / torch's ``x.to(dtype)``.

    Differentiable between float32 and float64: backward is ``grad_x = grad_y``
    cast back to ``x``'s dtype. A cast to an integer or bool dtype is not
    differentiable: it returns a Tensor with ``requires_grad=False`` (its
    values are truncated toward zero, as NumPy casts).

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: ``dtype``.

    Raises:
        DTypeError: if ``dtype`` is not a dtype, or is a float other than
            float32/float64 (the only float dtypes the ops accept).
    """
    x = as_tensor(x)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"astype: dtype must be a NumPy dtype, got {dtype!r}") from None
    if dt.kind == "f":
        if dt not in FLOAT_DTYPES:
            raise DTypeError(f"astype: a float dtype must be float32 or float64, got {dt}")
        return AsType(dt).apply(x)
    if dt.kind not in "biu":
        raise DTypeError(f"astype: dtype must be a float, integer or bool dtype, got {dt}")
    return Tensor(x.data.astype(dt))
