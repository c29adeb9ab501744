"""Dropout (inverted): zero each element with probability p, scale the rest by 1/(1 - p).

The mask is drawn from a NumPy Generator (or a seed). Without an ``rng`` the
mask comes from :func:`glassnet.checks.as_generator` ``(None)``: fresh OS
entropy, or, after ``glassnet.manual_seed(s)``, the next stream of ``s`` (so a
script that calls ``manual_seed`` once is reproducible). Passing ``rng`` is the
recommended way to a deterministic run.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.checks import as_generator, check_bool, check_number
from glassnet.errors import DTypeError

__all__ = ["dropout"]

class Dropout(Function):
    def __init__(self, p: float, rng: np.random.Generator):
        self.p = p
        self.rng = rng

    def forward(self, x):
        # The mask is drawn in float64 on the host whatever x's dtype or device,
        # so one seed gives one mask for float32, float64 and CuPy alike.
        keep = self.rng.random(x.shape) >= self.p
        # Inverted dropout scales the kept units at training time, so
        # E[y] = (1 - p) * x / (1 - p) = x and evaluation needs no rescaling.
        scale = self.xp.asarray(keep, dtype=x.dtype) * (1 / (1 - self.p))
        self.save_for_backward(scale)
        return x * scale

    # dy/dx = mask / (1 - p)
    def backward(self, grad_y):
        (scale,) = self.saved
        return grad_y * scale


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout ``y = x * m / (1 - p)`` with ``m_i ~ Bernoulli(1 - p)`` (Srivastava et al. 2014).

    Backward: ``grad_x = grad_y * m / (1 - p)`` (the same mask).

    Scaling by ``1 / (1 - p)`` at training time (rather than by ``1 - p`` at
    test time, as in the paper) keeps ``E[y] = x``, so evaluation is the
    identity. When ``training`` is False or ``p == 0`` the input Tensor itself
    is returned (no copy, no graph node).

    Shapes: ``x (*S)`` -> ``y (*S)``; every element has its own mask bit.
    dtype: that of ``x``.

    Args:
        x: input tensor.
        p: probability of zeroing an element, in ``[0, 1)``.
        training: apply dropout (True) or return ``x`` unchanged (False).
        rng: ``numpy.random.Generator`` (advanced by the draw), an int seed
            (a fresh Generator: the same seed gives the same mask), or None:
            OS entropy, or the next stream of :func:`glassnet.manual_seed` if it
            was called (an identity call, ``training=False`` or ``p == 0``,
            draws no stream).

    Raises:
        ConfigError: if ``p`` is not in ``[0, 1)``, ``training`` is not a bool or ``rng`` is of the wrong kind.
        DTypeError: if ``x`` is not a float array.
    """
    x = as_tensor(x)
    p = check_number(p, "p", "dropout", min=0.0, max=1.0, max_open=True)
    training = check_bool(training, "training", "dropout")
    if x.dtype.kind != "f":
        raise DTypeError(f"dropout: x must be a float array (float32 or float64), got dtype {x.dtype}")
    gen = None if rng is None else as_generator(rng, "dropout: rng")  # a bad rng fails even when unused
    if not training or p == 0:
        return x
    return Dropout(p, as_generator(None) if gen is None else gen).apply(x)
