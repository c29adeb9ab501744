"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from glassnet.autograd import Tensor
from glassnet.checks import check_bool, check_number
from glassnet.errors import ConfigError
from glassnet.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent, with heavy-ball or Nesterov momentum.

    For each parameter ``w`` with gradient ``∇L(w)`` at update ``t``::

        g_t = ∇L(w_{t-1}) + λ w_{t-1}                  (L2 weight decay, λ = weight_decay)
        plain:     w_t = w_{t-1} - η g_t                                    (momentum = 0)
        momentum:  v_t = μ v_{t-1} + g_t,   v_0 = 0,   w_t = w_{t-1} - η v_t
        Nesterov:  v_t = μ v_{t-1} + g_t,              w_t = w_{t-1} - η (g_t + μ v_t)

    Legend: η learning rate, μ momentum, λ weight decay, ``v`` the velocity
    (one array per parameter, ``state[i]["velocity"]``).

    These are PyTorch's formulas, so ``torch.optim.SGD`` with the same
    settings gives the same iterates. The course (and Sutskever et al.) write
    momentum as ``v ← μ v - η ∇L; w ← w + v``; for a constant η that is the
    same sequence of ``w`` (their ``v`` is ``-η`` times ours), but here a
    change of η takes effect at once instead of fading in through ``v``.
    The Nesterov form evaluates the look-ahead gradient by a change of
    variables (Bengio et al. 2013, as in PyTorch), so no second forward pass
    is needed.

    dtype: the state has each parameter's dtype; updates are in place on ``w.data``.

    Args:
        params: Parameters to update (e.g. ``model.parameters()``).
        lr: η >= 0.
        momentum: μ in ``[0, 1)``.
        nesterov: use Nesterov momentum (needs ``momentum > 0``).
        weight_decay: λ >= 0, L2 penalty ``λ/2 ‖w‖²`` added through the gradient.

    Raises:
        ConfigError: naming the argument: ``lr < 0``, ``momentum`` outside
            ``[0, 1)``, ``nesterov`` not a bool or True with ``momentum = 0``,
            ``weight_decay < 0``; or bad ``params``.

    References:
        Polyak, "Some methods of speeding up the convergence of iteration methods", 1964 (heavy ball).
        Nesterov, "A method for solving the convex programming problem with convergence rate O(1/k²)", 1983.
        Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in deep learning",
        ICML 2013.
    """

    hyperparameters = ("momentum", "nesterov", "weight_decay")
    slots = ("velocity",)

    def __init__(self, params: Iterable[Tensor] | Tensor, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)

    def _configure(self, momentum: Any, nesterov: Any, weight_decay: Any) -> None:
        momentum = check_number(momentum, "momentum", "SGD", min=0.0, max=1.0, max_open=True)
        nesterov = check_bool(nesterov, "nesterov", "SGD")
        if nesterov and momentum == 0.0:
            raise ConfigError("SGD: nesterov=True needs momentum > 0, got momentum=0")
        self.weight_decay = check_number(weight_decay, "weight_decay", "SGD", min=0.0)
        self.momentum, self.nesterov = momentum, nesterov

    def _required_slots(self, state) -> tuple[str, ...]:
        # plain SGD (momentum 0) keeps no velocity
        return self.slots if float(state.get("momentum", 0.0)) > 0.0 else ()

    def _update(self, w, g, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * w  # a new array: p.grad itself is never changed
        if self.momentum:
            v = self._slot(state, "velocity", w)
            v *= self.momentum
            v += g  # v_t = μ v_{t-1} + g_t
            g = g + self.momentum * v if self.nesterov else v
        w -= self.lr * g
