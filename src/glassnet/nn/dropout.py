"""``Dropout``: inverted dropout that follows the module's training mode."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet.checks import as_generator, check_number
from glassnet.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout: ``y = m ⊙ x / (1 - p)``, ``m_i ~ Bernoulli(1 - p)``, in training mode only.

    In evaluation mode (``eval()``) the layer is the identity; the scale
    ``1/(1 - p)`` at training time keeps ``E[y] = x``, so nothing changes at
    test time. Shapes: ``x (*S)`` -> ``y (*S)``. dtype: that of ``x``.

    Reference: Srivastava et al., "Dropout: A Simple Way to Prevent Neural
    Networks from Overfitting", JMLR 2014.

    Args:
        p: probability of zeroing an element, ``0 <= p < 1``.
        rng: numpy Generator, int seed or None; the layer keeps one Generator
            and draws each mask from it.

    Raises:
        ConfigError: if ``p`` is outside ``[0, 1)`` or ``rng`` is invalid.
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        self.p = check_number(p, "p", "Dropout", min=0.0, max=1.0, max_open=True)
        self.rng = as_generator(rng, "Dropout: rng")

    def forward(self, x: Any) -> Any:
        return F.dropout(x, p=self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
