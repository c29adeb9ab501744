"""Activation functions: sigmoid, tanh, relu, leaky_relu, softmax, log_softmax.

Each is a :class:`~glassnet.autograd.Function` whose backward is written from
the saved output where the derivative allows it (``σ' = y(1 - y)``,
``tanh' = 1 - y²``), so no input is kept alive for it. Sigmoid, softmax and
log_softmax are computed in forms that cannot overflow (see the comments at
each); the array-level helpers :func:`sigmoid_array` and
:func:`log_softmax_array` are shared with the losses in ``loss.py``.
"""

from __future__ import annotations

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_int, check_number
from glassnet.errors import DTypeError, ShapeError

__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax"]


def require_float(name: str, arg: str, t: Tensor) -> None:
    """Raise DTypeError unless ``t`` holds a float array (activations and losses need one).

    ``name`` and ``arg`` name the op and the argument in the message.

    Shapes: ``t`` any shape; nothing is returned. dtype: ``t`` must be float32 or
    float64 (any float kind passes).

    Raises:
        DTypeError: if ``t.dtype`` is not a float dtype (int, uint, bool, complex, ...).
    """
    if t.dtype.kind != "f":
        raise DTypeError(f"{name}: {arg} must be a float array (float32 or float64), got dtype {t.dtype}")


def _check_axis(name: str, t: Tensor, axis) -> int:
    axis = check_int(axis, "axis", name)
    if not -t.ndim <= axis < t.ndim or t.ndim == 0:
        raise ShapeError(f"{name}: axis must be in [-{t.ndim}, {t.ndim}) for x of shape {t.shape}, got {axis}")
    return int(axis) % t.ndim


def sigmoid_array(x):
    """σ(x) = 1 / (1 + e^-x) on an array, without overflow for any finite x.

    Shapes: ``x (*S)`` -> ``(*S)``. dtype: that of ``x`` (float32 or float64).
    A NumPy or CuPy array in, the same kind out (no Tensor, no graph).
    """
    xp = get_array_module(x)
    # e^-x overflows for x < -88.7 (float32) or -709.8 (float64). With
    # z = e^-|x| <= 1 nothing overflows: σ(x) = 1 / (1 + z) for x >= 0 and
    # σ(x) = z / (1 + z) for x < 0 (multiply top and bottom by e^x). The
    # second branch also keeps full relative precision for very negative x,
    # where 1 - σ(-x) would cancel to 0; at |x| = 1000 the results are exactly 1 and 0.
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))


def log_softmax_array(x, axis: int = -1):
    """log softmax(x) along ``axis`` on an array: ``x - m - log Σ e^(x - m)`` with ``m = max x``.

    Shapes: ``x (*S)`` -> ``(*S)``, normalised along ``axis`` (an int, negative
    counts from the end; not validated here). dtype: that of ``x`` (float32 or
    float64). A NumPy or CuPy array in, the same kind out; an empty ``axis``
    returns a copy of ``x``.
    """
    xp = get_array_module(x)
    if x.shape[axis] == 0:
        return x.copy()  # an empty class axis has nothing to normalise (and no max)
    # Subtracting the row maximum leaves the result unchanged (the factor e^-m
    # cancels between numerator and denominator) but makes every exponent <= 0,
    # so e^(x - m) cannot overflow, and the sum is >= 1 (the maximum contributes
    # e^0), so its log is finite. Logits of ±1e4 give finite log-probabilities.
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Sigmoid(Function):
    def forward(self, x):
        y = sigmoid_array(x)
        self.save_for_backward(y)
        return y

    # dσ(x)/dx = σ(x)(1 - σ(x)) = y(1 - y)
    def backward(self, grad_y):
        (y,) = self.saved
        return grad_y * y * (1 - y)


class Tanh(Function):
    def forward(self, x):
        y = self.xp.tanh(x)
        self.save_for_backward(y)
        return y

    # d tanh(x)/dx = 1 - tanh²(x) = 1 - y²
    def backward(self, grad_y):
        (y,) = self.saved
        return grad_y * (1 - y * y)


class ReLU(Function):
    def forward(self, x):
        self.save_for_backward(x > 0)
        return self.xp.maximum(x, 0)

    # d max(x, 0)/dx = 1 if x > 0 else 0 (0 at x = 0, as PyTorch)
    def backward(self, grad_y):
        (positive,) = self.saved
        return grad_y * positive


class LeakyReLU(Function):
    def __init__(self, slope: float):
        self.slope = slope

    def forward(self, x):
        positive = x > 0
        self.save_for_backward(positive)
        return self.xp.where(positive, x, self.slope * x)

    # d leaky_relu(x)/dx = 1 if x > 0 else slope
    def backward(self, grad_y):
        (positive,) = self.saved
        return self.xp.where(positive, grad_y, self.slope * grad_y)


class Softmax(Function):
    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        y = self.xp.exp(log_softmax_array(x, self.axis))
        self.save_for_backward(y)
        return y

    # dy_i/dx_j = y_i (δ_ij - y_j)  =>  grad_x = y * (grad_y - Σ_j grad_y_j y_j)
    def backward(self, grad_y):
        (y,) = self.saved
        return y * (grad_y - (grad_y * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        y = log_softmax_array(x, self.axis)
        self.save_for_backward(y)
        return y

    # dy_i/dx_j = δ_ij - softmax_j  =>  grad_x = grad_y - e^y * Σ_i grad_y_i
    def backward(self, grad_y):
        (y,) = self.saved
        return grad_y - self.xp.exp(y) * grad_y.sum(axis=self.axis, keepdims=True)


def sigmoid(x) -> Tensor:
    """Logistic sigmoid ``y = σ(x) = 1 / (1 + e^-x)``, elementwise.

    Backward: ``grad_x = grad_y * y * (1 - y)``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x`` (float32 or float64).

    Computed as ``1 / (1 + e^-|x|)`` for ``x >= 0`` and ``e^-|x| / (1 + e^-|x|)``
    for ``x < 0``, so no exponent is positive: no overflow warning at any finite
    ``x``, exactly 0 and 1 at ``x = ∓1000``, and full relative precision in the
    left tail. Same values as ``torch.sigmoid``.

    Raises:
        DTypeError: if ``x`` is not a float array.

    Reference: Goodfellow, Bengio & Courville, *Deep Learning* (2016), §3.10 and §6.2.2.2.
    """
    x = as_tensor(x)
    require_float("sigmoid", "x", x)
    return Sigmoid().apply(x)


def tanh(x) -> Tensor:
    """Hyperbolic tangent ``y = tanh x = (e^x - e^-x) / (e^x + e^-x)``, elementwise.

    Backward: ``grad_x = grad_y * (1 - y²)``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``. Uses ``xp.tanh``,
    which saturates to ±1 without overflow.

    Raises:
        DTypeError: if ``x`` is not a float array.

    Reference: Goodfellow, Bengio & Courville, *Deep Learning* (2016), §6.3.2.
    """
    x = as_tensor(x)
    require_float("tanh", "x", x)
    return Tanh().apply(x)


def relu(x) -> Tensor:
    """Rectified linear unit ``y = max(x, 0)``, elementwise (Nair & Hinton 2010).

    Backward: ``grad_x = grad_y * [x > 0]``; the subgradient at ``x = 0`` is
    taken as 0, as PyTorch does.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.

    Raises:
        DTypeError: if ``x`` is not a float array.
    """
    x = as_tensor(x)
    require_float("relu", "x", x)
    return ReLU().apply(x)


def leaky_relu(x, slope: float = 0.01) -> Tensor:
    """Leaky ReLU ``y = x if x > 0 else slope * x``, elementwise (Maas et al. 2013).

    Backward: ``grad_x = grad_y`` where ``x > 0``, ``slope * grad_y`` elsewhere
    (including ``x = 0``, as ``torch.nn.functional.leaky_relu``).

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.

    Args:
        x: input tensor.
        slope: the gradient for negative inputs (PyTorch's ``negative_slope``).

    Raises:
        DTypeError: if ``x`` is not a float array.
        ConfigError: if ``slope`` is not a finite real number.
    """
    x = as_tensor(x)
    require_float("leaky_relu", "x", x)
    return LeakyReLU(check_number(slope, "slope", "leaky_relu")).apply(x)


def softmax(x, axis: int = -1) -> Tensor:
    """Softmax along ``axis``: ``y_i = e^(x_i) / Σ_j e^(x_j)``.

    Backward: ``grad_x = y * (grad_y - Σ_j grad_y_j y_j)`` (the Jacobian
    ``diag(y) - y yᵀ`` applied without forming it).

    Computed as ``exp(log_softmax(x))``, i.e. with the maximum subtracted
    first, so large logits do not overflow. A slice that is entirely ``-inf``
    gives NaN, as in PyTorch.

    Shapes: ``x (*S)`` -> ``y (*S)``; for logits ``(N, K)`` use ``axis=-1`` and
    each row of ``y`` sums to 1. dtype: that of ``x``.

    Raises:
        DTypeError: if ``x`` is not a float array.
        ShapeError: if ``axis`` is out of range for ``x``.
        ConfigError: if ``axis`` is not an int.

    Reference: Bridle (1990), *Probabilistic interpretation of feedforward
    classification network outputs*; the max-shift is Goodfellow et al.,
    *Deep Learning* (2016), §4.1.
    """
    x = as_tensor(x)
    require_float("softmax", "x", x)
    return Softmax(_check_axis("softmax", x, axis)).apply(x)


def log_softmax(x, axis: int = -1) -> Tensor:
    """Log-softmax along ``axis``: ``y_i = x_i - m - log Σ_j e^(x_j - m)``, ``m = max_j x_j``.

    Equal to ``log(softmax(x))`` but finite wherever that would round to
    ``log 0 = -inf`` (logits spread over ±1e4 are fine).

    Backward: ``grad_x = grad_y - softmax(x) * Σ_i grad_y_i``.

    Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.

    Raises:
        DTypeError: if ``x`` is not a float array.
        ShapeError: if ``axis`` is out of range for ``x``.
        ConfigError: if ``axis`` is not an int.

    Reference: the log-sum-exp trick, Goodfellow et al., *Deep Learning* (2016), §4.1.
    """
    x = as_tensor(x)
    require_float("log_softmax", "x", x)
    return LogSoftmax(_check_axis("log_softmax", x, axis)).apply(x)
