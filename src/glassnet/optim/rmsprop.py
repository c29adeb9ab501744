"""RMSprop: AdaGrad with an exponentially decaying average of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number
from glassnet.optim.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: divide each coordinate's step by a running root-mean-square of its gradients.

    For each parameter ``w`` with gradient ``g_t`` at update ``t``::

        h_t = α h_{t-1} + (1 - α) g_t ⊙ g_t,     h_0 = 0
        w_t = w_{t-1} - η g_t / (√h_t + ε)

    Legend: η learning rate, α decay rate of the average, ε against division
    by zero, ``h`` the running mean of squares (``state[i]["square_avg"]``).
    Unlike AdaGrad's sum, the average forgets old gradients (time constant
    ≈ 1/(1-α) updates), so the step size does not decay to zero.

    Same formula as ``torch.optim.RMSprop`` (no momentum, not centered; ε
    outside the square root; some libraries put it inside, e.g. Keras).

    dtype: the state has each parameter's dtype; updates are in place.

    Args:
        params: Parameters to update.
        lr: η >= 0.
        alpha: α in ``[0, 1)``.
        eps: ε >= 0.

    Raises:
        ConfigError: naming the argument: ``lr < 0``, ``alpha`` outside ``[0, 1)``, ``eps < 0``; or bad ``params``.

    Reference:
        Tieleman & Hinton, "Lecture 6.5 — RMSprop: divide the gradient by a running
        average of its recent magnitude", COURSERA: Neural Networks for Machine Learning, 2012 (lecture 6e).
    """

    hyperparameters = ("alpha", "eps")
    slots = ("square_avg",)

    def __init__(self, params: Iterable[Tensor] | Tensor, lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8) -> None:
        super().__init__(params, lr, alpha=alpha, eps=eps)

    def _configure(self, alpha: Any, eps: Any) -> None:
        self.alpha = check_number(alpha, "alpha", "RMSprop", min=0.0, max=1.0, max_open=True)
        self.eps = check_number(eps, "eps", "RMSprop", min=0.0)

    def _update(self, w, g, state: dict[str, Any]) -> None:
        h = self._slot(state, "square_avg", w)
        h *= self.alpha
        h += (1.0 - self.alpha) * (g * g)  # h_t = α h_{t-1} + (1 - α) g²
        w -= self.lr * g / (get_array_module(w).sqrt(h) + self.eps)
