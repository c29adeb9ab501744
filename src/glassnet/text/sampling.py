"""Sampling words: :class:`UnigramSampler`, the noise distribution of negative sampling.

Negative sampling (Mikolov et al. 2013) scores the true target against k words
drawn from ``P(w) ∝ count(w)^0.75``; the loss is
:func:`glassnet.functional.negative_sampling_loss`. Drawing word ids is not
differentiable, so it lives here, beside the vocabulary, not in functional.
"""

from __future__ import annotations

import numpy as np

from glassnet.checks import as_generator, check_number
from glassnet.errors import ConfigError, ShapeError

__all__ = ["UnigramSampler"]


class UnigramSampler:
    """Draws negative words from the smoothed unigram distribution ``P(w) = c_w^α / Σ_v c_v^α`` (α = 0.75).

    Raising counts to 3/4 flattens the distribution: rare words are drawn more often than their frequency,
    frequent ones less (Mikolov et al. 2013, section 2.2). Draws use Walker's alias method (Vose's
    construction): exact, O(1) a draw (one uniform column, one coin against its threshold), where
    word2vec.c approximates ``P`` with a table of 10^8 slots.

    Args:
        counts: ``(V,)`` non-negative word counts (index = word id).
        power: the exponent α (0.75 in the paper; 1 = raw frequencies, 0 = uniform over seen words).
        rng: a ``numpy.random.Generator``, an int seed or None (see :func:`glassnet.checks.as_generator`).

    Raises:
        ShapeError: if ``counts`` is not 1-D.
        ConfigError: if a count is negative or all are zero, ``power`` is not finite or ``rng`` is of the wrong kind.
    """

    def __init__(self, counts, power: float = 0.75, rng=None):
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 1 or counts.size == 0:
            raise ShapeError(f"UnigramSampler: counts must be a non-empty (V,) array, got shape {counts.shape}")
        if (counts < 0).any() or not np.isfinite(counts).all() or counts.sum() == 0:
            raise ConfigError("UnigramSampler: counts must be finite, non-negative and not all zero")
        power = check_number(power, "power", "UnigramSampler")
        weights = np.where(counts > 0, counts, 0.0) ** power * (counts > 0)  # unseen words are never drawn
        self.probs = weights / weights.sum()  # (V,)
        self._threshold, self._alias = _alias_table(self.probs)
        self.rng = as_generator(rng, "UnigramSampler: rng")

    def sample(self, shape) -> np.ndarray:
        """Word ids of the given shape, int64, i.i.d. from ``probs`` (a negative may equal its target)."""
        column = self.rng.integers(0, len(self.probs), shape)
        keep = self.rng.random(shape) < self._threshold[column]
        return np.where(keep, column, self._alias[column])


def _alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table: column ``i`` keeps ``i`` with probability ``threshold[i]``, else gives ``alias[i]``.

    Each of the V columns holds mass 1/V: an under-full word is topped up from an over-full one.
    """
    V = len(probs)
    scaled = probs * V
    threshold = np.ones(V)
    alias = np.arange(V, dtype=np.int64)
    small = [i for i in range(V) if scaled[i] < 1.0]
    large = [i for i in range(V) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        threshold[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # columns left over by rounding keep threshold 1, except a word of probability 0: never drawn
    zero = probs == 0
    threshold[zero], alias[zero] = 0.0, int(np.argmax(probs))
    return threshold, alias
