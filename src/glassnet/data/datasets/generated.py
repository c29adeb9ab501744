"""Generated sequence tasks of the recurrent-network course: binary addition, the adding problem, a look-ahead task.

Each generator is seeded (``rng``: a ``numpy.random.Generator`` or an int seed; the same seed gives the same
arrays), returns plain NumPy arrays, and is batch-first: inputs ``(N, T, D)``, per-step targets ``(N, T)``.

* :func:`binary_addition` — add two ``bits``-bit numbers one bit per step, least significant bit first, so a
  recurrent net has to carry; the course's first RNN exercise.
* :func:`adding_problem` — Hochreiter & Schmidhuber (1997), experiment 4: a stream of random values, two of
  them marked; the target at the end is their sum. The distance between the marks measures how long a
  network must remember.
* :func:`appears_later` — per-step labels that depend on *later* inputs (does this symbol occur again
  further on?), the task where a bidirectional RNN sees what a unidirectional one cannot.
"""

from __future__ import annotations

import numpy as np

from glassnet.checks import as_generator, check_int, check_size
from glassnet.errors import ConfigError

__all__ = ["binary_addition", "adding_problem", "appears_later", "appears_later_ceiling"]


def _bits_lsb_first(values: np.ndarray, bits: int) -> np.ndarray:
    # (N,) ints -> (N, bits) with column k holding bit k (least significant first)
    return ((values[:, None] >> np.arange(bits)) & 1).astype(np.int64)


def binary_addition(n: int | None = None, bits: int = 8, rng=None):
    """Pairs ``a + b = c`` written in binary, one bit per time step, least significant bit first.

    ``a`` and ``b`` are drawn from ``[0, 2**(bits-1))`` so that ``c = a + b < 2**bits`` fits in ``bits`` bits
    (no overflow bit to predict), as in the course's exercise. Reading least significant bit first, the answer
    bit at step ``t`` is ``a_t XOR b_t XOR carry_t``: the net must carry a bit of memory from step to step.

    Args:
        n: how many distinct pairs, drawn without replacement; None gives all ``4**(bits-1)`` pairs in order
            (``a`` major), which an experiment permutes and splits into disjoint train and test pairs.
        bits: number of bits ``T`` per number (1..20).
        rng: numpy Generator or int seed (used only when ``n`` is given).

    Returns:
        ``x`` float32 ``(N, T, 2)`` (the bits of ``a`` and ``b``), ``t`` int64 ``(N, T)`` (the bits of ``c``),
        and ``ab`` int64 ``(N, 2)`` (the numbers themselves).

    Raises:
        ConfigError: if ``bits`` is not in 1..20 or ``n`` exceeds the number of distinct pairs.
    """
    bits = check_size(bits, "bits", "binary_addition")
    if bits > 20:
        raise ConfigError(f"binary_addition: bits must be <= 20, got {bits}")
    half = 1 << (bits - 1)
    total = half * half
    if n is None:
        index = np.arange(total, dtype=np.int64)
    else:
        n = check_size(n, "n", "binary_addition")
        if n > total:
            raise ConfigError(f"binary_addition: n must be <= {total} distinct pairs for bits={bits}, got {n}")
        index = as_generator(rng).choice(total, size=n, replace=False).astype(np.int64)
    a, b = index // half, index % half
    x = np.stack([_bits_lsb_first(a, bits), _bits_lsb_first(b, bits)], axis=-1).astype(np.float32)  # (N, T, 2)
    t = _bits_lsb_first(a + b, bits)  # (N, T)
    return x, t, np.stack([a, b], axis=1)


def adding_problem(n: int, T: int, rng=None):
    """The adding problem (Hochreiter & Schmidhuber 1997): remember two marked values over ``T`` steps, add them.

    Each step carries two inputs: a value ``u_t ~ U(0, 1)`` and a marker ``m_t`` in {0, 1}. Exactly two steps
    are marked, one uniformly in the first half ``[0, T//2)`` and one in the second half ``[T//2, T)``; the
    target is the sum of the two marked values, read after the last step. This is the variant of Le, Jaitly
    & Hinton (2015) and Arjovsky et al. (2016) (values in [0, 1], target ``u_i + u_j``); the 1997 original
    drew values from [-1, 1] and scaled the target to ``0.5 + (u_i + u_j) / 4``. The target has mean 1 and
    variance 1/6, so always answering 1 scores a mean squared error of about 0.167: a network that cannot
    remember over the gap is stuck there.

    Args:
        n: number of sequences N.
        T: sequence length (>= 2).
        rng: numpy Generator or int seed.

    Returns:
        ``x`` float32 ``(N, T, 2)`` (values, markers) and ``y`` float32 ``(N,)`` (the sums).

    Raises:
        ConfigError: if ``n < 1`` or ``T < 2``.
    """
    n = check_size(n, "n", "adding_problem")
    T = check_int(T, "T", "adding_problem", min=2)
    g = as_generator(rng)
    values = g.random((n, T))  # (N, T)
    half = T // 2
    first = g.integers(0, half, size=n)
    second = g.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)  # (N,)
    return x, y


def appears_later(n: int, T: int, K: int, rng=None):
    """Random symbols with per-step labels that depend on the future: does ``x_t`` occur again after ``t``?

    ``x_t`` is uniform over ``K`` symbols, independently per step; the label is
    ``y_t = 1 if x_s == x_t for some s > t else 0`` (the last step is always 0). A unidirectional RNN at step
    ``t`` has seen only ``x_1..x_t``, which say nothing about the future, so the best it can do is guess from
    the position (:func:`appears_later_ceiling`); a bidirectional RNN's backward direction has read
    ``x_T..x_t`` and can answer exactly.

    Args:
        n: number of sequences N.
        T: sequence length.
        K: number of symbols (>= 2).
        rng: numpy Generator or int seed.

    Returns:
        ``x`` int64 ``(N, T)`` symbols in ``[0, K)`` and ``y`` int64 ``(N, T)`` labels in {0, 1}.

    Raises:
        ConfigError: if ``n < 1``, ``T < 1`` or ``K < 2``.
    """
    n = check_size(n, "n", "appears_later")
    T = check_size(T, "T", "appears_later")
    K = check_int(K, "K", "appears_later", min=2)
    x = as_generator(rng).integers(0, K, size=(n, T), dtype=np.int64)  # (N, T)
    same = x[:, :, None] == x[:, None, :]  # (N, T, T): same[i, t, s] = x_t == x_s
    later = np.triu(np.ones((T, T), dtype=bool), k=1)  # s > t
    y = (same & later).any(axis=2).astype(np.int64)  # (N, T)
    return x, y


def appears_later_ceiling(T: int, K: int) -> float:
    """The best accuracy on :func:`appears_later` of any predictor that sees only ``x_1..x_t`` at step ``t``.

    The future symbols are independent of the past, so ``P(y_t = 1 | x_1..x_t) = 1 - (1 - 1/K)**(T-1-t)``
    whatever was seen; the best guess at step ``t`` is the likelier label, right with probability
    ``max(p_t, 1 - p_t)``. The ceiling is the mean over the ``T`` steps.

    Raises:
        ConfigError: if ``T < 1`` or ``K < 2``.
    """
    T = check_size(T, "T", "appears_later_ceiling")
    K = check_int(K, "K", "appears_later_ceiling", min=2)
    p = 1.0 - (1.0 - 1.0 / K) ** (T - 1 - np.arange(T))
    return float(np.maximum(p, 1.0 - p).mean())
