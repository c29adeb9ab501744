"""Choosing the next token from a decoder's logits: greedy (argmax) and sampling with temperature and top-k.

A decoder step gives logits ``z (N, V)`` over the vocabulary; generation picks one id per row and feeds it
back. Picking ids is not differentiable, so it lives here, beside the vocabulary, not in functional.
"""

from __future__ import annotations

import numpy as np

from glassnet.checks import as_generator, check_int, check_number
from glassnet.errors import DTypeError, NonFiniteError, ShapeError

__all__ = ["greedy_next", "sample_next"]


def _check_logits(logits, who: str) -> np.ndarray:
    z = np.asarray(logits)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ShapeError(f"{who}: logits must be (N, V) with V >= 1, got shape {z.shape}")
    if z.dtype.kind != "f":
        raise DTypeError(f"{who}: logits must be a float array, got dtype {z.dtype}")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise NonFiniteError(f"{who}: logits hold NaN or +inf (row {int(np.argwhere(~(z < np.inf))[0, 0])})")
    dead = np.isneginf(z).all(axis=1)
    if dead.any():
        raise NonFiniteError(f"{who}: every logit of row {int(np.argmax(dead))} is -inf; nothing can be chosen")
    return z


def greedy_next(logits) -> np.ndarray:
    """The most likely next token per row: ``argmax_v z[n, v]``.

    Shapes: logits ``(N, V)`` float (NumPy; move a GPU array to the host first) -> ``(N,)`` int64.
    Ties: the lowest id wins (``np.argmax``). ``-inf`` marks a forbidden token.

    Raises:
        ShapeError: logits not ``(N, V)``. DTypeError: not float. NonFiniteError: NaN, +inf, or a row all -inf.
    """
    return np.argmax(_check_logits(logits, "greedy_next"), axis=1).astype(np.int64)


def sample_next(logits, temperature: float = 1.0, top_k: int | None = None, rng=None) -> np.ndarray:
    """Draw the next token per row from ``softmax(z / τ)``, optionally restricted to the k largest logits.

    ``p(v) = exp((z_v - max z) / τ) / Σ_{u in K} exp((z_u - max z) / τ)`` for ``v in K``, else 0,

    where K is every id (``top_k=None``) or the ``top_k`` ids with the largest logits. Subtracting ``max z``
    first keeps exp from overflowing for any τ > 0 (the largest term is exp(0) = 1). τ < 1 sharpens the
    distribution toward greedy, τ > 1 flattens it toward uniform; ``temperature=0`` is the limit τ -> 0, greedy
    decoding (:func:`greedy_next`), except that tied maxima go to the lowest id rather than uniformly.

    Top-k (Fan et al. 2018, "Hierarchical Neural Story Generation") keeps exactly k ids: among logits equal to the
    k-th largest, the lowest ids are kept (a stable sort). Implementations that keep every id tied with the
    k-th largest (e.g. a ``z >= kth`` mask) can keep more than k.

    Draws: one uniform ``u ~ U[0, 1)`` per row from ``rng``, inverted through the row's cumulative distribution,
    so the same seed gives the same ids, and an id of probability 0 is never drawn.

    Shapes: logits ``(N, V)`` float (NumPy; computed in float64) -> ``(N,)`` int64.

    Args:
        temperature: τ >= 0 (0: greedy).
        top_k: k in [1, V], or None for no restriction.
        rng: a ``numpy.random.Generator``, an int seed or None (see :func:`glassnet.checks.as_generator`).

    Raises:
        ShapeError: logits not ``(N, V)``. DTypeError: not float. NonFiniteError: NaN, +inf, or a row all -inf.
        ConfigError: τ negative or not finite, ``top_k`` not an int in [1, V], a bad ``rng``.
    """
    who = "sample_next"
    z = _check_logits(logits, who).astype(np.float64)  # (N, V)
    N, V = z.shape
    tau = check_number(temperature, "temperature", who, min=0)
    if top_k is not None:
        top_k = check_int(top_k, "top_k", who, min=1, max=V)
    rng = as_generator(rng, f"{who}: rng")
    if tau == 0:
        return greedy_next(z)
    if top_k is not None and top_k < V:
        order = np.argsort(-z, axis=1, kind="stable")  # (N, V), largest first, ties by lowest id
        z = z.copy()
        np.put_along_axis(z, order[:, top_k:], -np.inf, axis=1)  # drop all but the k largest
    # softmax(z / τ), stable: the max entry's term is exp(0) = 1, so the row sum is >= 1
    p = np.exp((z - z.max(axis=1, keepdims=True)) / tau)  # (N, V)
    cdf = np.cumsum(p, axis=1)  # (N, V), unnormalised
    u = rng.random(N) * cdf[:, -1]  # (N,), in [0, Σp)
    # the first v with cdf_v > u: a zero-probability v never is (cdf does not rise there)
    return np.argmax(cdf > u[:, None], axis=1).astype(np.int64)
