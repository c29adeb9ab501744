"""Weight initialisation: functions that return a fresh array of a given shape.

Every random initialiser takes ``rng``, a ``numpy.random.Generator``, an int
seed or None (see :func:`glassnet.checks.as_generator`; never the global NumPy
state), and draws in float64 before casting to
``dtype`` (default: :func:`glassnet.get_default_dtype`, float32), so the same
seed gives the same numbers, up to rounding, in float32 and float64.

Fans (the number of inputs and outputs that one unit sums over):

* dense weight ``(in, out)``: ``fan_in = in``, ``fan_out = out`` (glassnet's
  layout ``y = x @ W``; PyTorch stores the transpose);
* conv weight ``(C_out, C_in, kh, kw)``: ``fan_in = C_in·kh·kw``, ``fan_out = C_out·kh·kw``.

Layers' defaults (PyTorch's, so a parity test can copy weights either way):
``Linear`` draws ``W, b ~ U(-1/√in, 1/√in)`` (:func:`linear_uniform`),
``Embedding`` draws ``W ~ N(0, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from glassnet.backend import FLOAT_DTYPES, get_default_dtype
from glassnet.checks import as_generator, check_number, check_size
from glassnet.errors import ConfigError, ShapeError

__all__ = [
    "fans", "zeros", "uniform", "normal",
    "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "linear_uniform",
]


def _shape(name: str, shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if (not isinstance(shape, Sequence) or isinstance(shape, str)
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise ShapeError(f"{name}: shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def _dtype(name: str, dtype: Any) -> np.dtype:
    try:
        d = get_default_dtype() if dtype is None else np.dtype(dtype)
    except TypeError:
        d = None
    if d is None or d not in FLOAT_DTYPES:  # (np.dtype(None) == float64, hence the first test)
        raise ConfigError(f"{name}: dtype must be float32 or float64, got {dtype!r}")
    return d


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: ``(in, out)`` for 2-D, ``(C_in·k, C_out·k)`` for ``(C_out, C_in, *k)``.

    Raises:
        ShapeError: if the weight has fewer than 2 dimensions.
    """
    shape = _shape("fans", shape)
    if len(shape) < 2:
        raise ShapeError(f"fans: a weight needs at least 2 dimensions, got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape: Sequence[int], dtype: Any = None) -> np.ndarray:
    """An array of zeros (biases, padding rows). dtype: ``dtype`` or the default (float32).

    Raises:
        ShapeError: if ``shape`` is not a tuple of non-negative ints.
        ConfigError: if ``dtype`` is not float32/float64.
    """
    return np.zeros(_shape("zeros", shape), dtype=_dtype("zeros", dtype))


def uniform(shape: Sequence[int], low: float, high: float, rng: Any, dtype: Any = None) -> np.ndarray:
    """Draw ``w ~ U(low, high)`` elementwise.

    Raises:
        ShapeError: for a bad ``shape``.
        ConfigError: if ``low > high``, a bound is not finite, or ``rng``/``dtype`` is invalid.
    """
    shape, d = _shape("uniform", shape), _dtype("uniform", dtype)
    low, high = check_number(low, "low", "uniform"), check_number(high, "high", "uniform")
    if low > high:
        raise ConfigError(f"uniform: low must be <= high, got low={low}, high={high}")
    return as_generator(rng, "uniform: rng").uniform(low, high, size=shape).astype(d)


def normal(shape: Sequence[int], std: float, rng: Any, mean: float = 0.0, dtype: Any = None) -> np.ndarray:
    """Draw ``w ~ N(mean, std²)`` elementwise.

    Raises:
        ShapeError: for a bad ``shape``.
        ConfigError: if ``std < 0``, ``mean``/``std`` is not finite, or ``rng``/``dtype`` is invalid.
    """
    shape, d = _shape("normal", shape), _dtype("normal", dtype)
    std, mean = check_number(std, "std", "normal", min=0.0), check_number(mean, "mean", "normal")
    return (mean + std * as_generator(rng, "normal: rng").standard_normal(shape)).astype(d)


def _gain(name: str, gain: float) -> float:
    return check_number(gain, "gain", name, min=0.0, min_open=True)


def xavier_uniform(shape: Sequence[int], rng: Any, gain: float = 1.0, dtype: Any = None) -> np.ndarray:
    """Glorot/Xavier uniform: ``w ~ U(-a, a)``, ``a = gain·√(6 / (fan_in + fan_out))``.

    Then ``Var w = gain² · 2 / (fan_in + fan_out)``.

    Keeps the variance of activations and of gradients roughly constant
    across layers of a tanh/sigmoid network (``gain = 1``).

    Reference: Glorot & Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", AISTATS 2010.

    Raises:
        ShapeError: if the weight has fewer than 2 dimensions.
        ConfigError: if ``gain <= 0`` or ``rng``/``dtype`` is invalid.
    """
    fan_in, fan_out = fans(shape)
    a = _gain("xavier_uniform", gain) * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return uniform(shape, -a, a, rng, dtype)


def xavier_normal(shape: Sequence[int], rng: Any, gain: float = 1.0, dtype: Any = None) -> np.ndarray:
    """Glorot/Xavier normal: ``w ~ N(0, σ²)``, ``σ = gain·√(2 / (fan_in + fan_out))``.

    Reference: Glorot & Bengio, AISTATS 2010.

    Raises:
        ShapeError: if the weight has fewer than 2 dimensions.
        ConfigError: if ``gain <= 0`` or ``rng``/``dtype`` is invalid.
    """
    fan_in, fan_out = fans(shape)
    std = _gain("xavier_normal", gain) * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return normal(shape, std, rng, dtype=dtype)


def he_uniform(shape: Sequence[int], rng: Any, dtype: Any = None) -> np.ndarray:
    """He/Kaiming uniform for ReLU: ``w ~ U(-a, a)``, ``a = √(6 / fan_in)``, so ``Var w = 2 / fan_in``.

    ReLU zeroes half of its inputs on average, so the weight variance is
    doubled relative to LeCun's ``1 / fan_in`` to keep activations' variance
    constant with depth (fan-in mode).

    Reference: He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015.

    Raises:
        ShapeError: if the weight has fewer than 2 dimensions.
        ConfigError: if ``rng``/``dtype`` is invalid.
    """
    fan_in, _ = fans(shape)
    a = math.sqrt(6.0 / max(fan_in, 1))
    return uniform(shape, -a, a, rng, dtype)


def he_normal(shape: Sequence[int], rng: Any, dtype: Any = None) -> np.ndarray:
    """He/Kaiming normal for ReLU: ``w ~ N(0, σ²)``, ``σ = √(2 / fan_in)`` (fan-in mode).

    Reference: He et al., ICCV 2015.

    Raises:
        ShapeError: if the weight has fewer than 2 dimensions.
        ConfigError: if ``rng``/``dtype`` is invalid.
    """
    fan_in, _ = fans(shape)
    return normal(shape, math.sqrt(2.0 / max(fan_in, 1)), rng, dtype=dtype)


def linear_uniform(shape: Sequence[int], fan_in: int, rng: Any, dtype: Any = None) -> np.ndarray:
    """PyTorch's ``nn.Linear`` default: ``w ~ U(-1/√fan_in, 1/√fan_in)``, used for both ``W`` and ``b``.

    (PyTorch writes it as ``kaiming_uniform_(a=√5)``, which reduces to this bound;
    ``Var w = 1 / (3 fan_in)``.)

    Raises:
        ConfigError: if ``fan_in < 1`` or ``rng``/``dtype`` is invalid.
        ShapeError: for a bad ``shape``.
    """
    fan_in = check_size(fan_in, "fan_in", "linear_uniform")
    bound = 1.0 / math.sqrt(fan_in)
    return uniform(shape, -bound, bound, rng, dtype)
