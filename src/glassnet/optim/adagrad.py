"""AdaGrad: per-coordinate learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number
from glassnet.optim.optimizer import Optimizer

__all__ = ["AdaGrad"]


class AdaGrad(Optimizer):
    """AdaGrad: divide each coordinate's step by the root of its accumulated squared gradients.

    For each parameter ``w`` with gradient ``g_t`` at update ``t``::

        h_t = h_{t-1} + g_t ⊙ g_t,     h_0 = 0
        w_t = w_{t-1} - η g_t / (√h_t + ε)

    Legend: η learning rate, ε a small constant against division by zero,
    ``h`` the accumulator (``state[i]["sum_sq"]``), ⊙ and ``/`` elementwise.
    Rarely-updated coordinates keep large steps; the effective step of every
    coordinate only shrinks, which can stop training early on long runs
    (RMSprop's motivation).

    Same formula as ``torch.optim.Adagrad`` with ``initial_accumulator_value=0``
    and ``lr_decay=0`` (ε outside the square root).

    dtype: the state has each parameter's dtype; updates are in place.

    Args:
        params: Parameters to update.
        lr: η >= 0.
        eps: ε >= 0.

    Raises:
        ConfigError: naming the argument: ``lr < 0``, ``eps < 0``; or bad ``params``.

    Reference:
        Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning
        and Stochastic Optimization", JMLR 12, 2011.
    """

    hyperparameters = ("eps",)
    slots = ("sum_sq",)

    def __init__(self, params: Iterable[Tensor] | Tensor, lr: float = 0.01, eps: float = 1e-10) -> None:
        super().__init__(params, lr, eps=eps)

    def _configure(self, eps: Any) -> None:
        self.eps = check_number(eps, "eps", "AdaGrad", min=0.0)

    def _update(self, w, g, state: dict[str, Any]) -> None:
        h = self._slot(state, "sum_sq", w)
        h += g * g  # h_t = h_{t-1} + g²
        w -= self.lr * g / (get_array_module(w).sqrt(h) + self.eps)
