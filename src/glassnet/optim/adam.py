"""Adam: momentum on the gradient and RMSprop's scaling, both bias-corrected."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number
from glassnet.errors import ConfigError
from glassnet.optim.optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam: adaptive moment estimation.

    For each parameter ``w`` with gradient ``∇L(w)`` at its ``t``-th update
    (``t = 1, 2, …``)::

        g_t = ∇L(w_{t-1}) + λ w_{t-1}                 (L2 weight decay, as torch.optim.Adam; not AdamW)
        m_t = β₁ m_{t-1} + (1 - β₁) g_t,               m_0 = 0
        v_t = β₂ v_{t-1} + (1 - β₂) g_t ⊙ g_t,         v_0 = 0
        m̂_t = m_t / (1 - β₁^t),   v̂_t = v_t / (1 - β₂^t)
        w_t = w_{t-1} - η m̂_t / (√v̂_t + ε)

    Legend: η learning rate, β₁ and β₂ decay rates of the first and second
    moment estimates ``m`` and ``v`` (``state[i]["exp_avg"]``,
    ``state[i]["exp_avg_sq"]``), ε against division by zero, λ weight decay.
    The bias corrections undo the pull of ``m_0 = v_0 = 0`` towards zero in
    the first updates. ε is added after the bias-corrected square root, as in
    Kingma & Ba's Algorithm 1 and in PyTorch (so parity holds); the paper's
    "efficient" variant, which folds the corrections into η, puts ε before
    the correction and differs slightly while ``t`` is small.

    dtype: the state has each parameter's dtype; updates are in place.

    Args:
        params: Parameters to update.
        lr: η >= 0.
        betas: ``(β₁, β₂)``, each in ``[0, 1)``.
        eps: ε >= 0.
        weight_decay: λ >= 0.

    Raises:
        ConfigError: naming the argument: ``lr < 0``, ``betas`` not a pair in
            ``[0, 1)``, ``eps < 0``, ``weight_decay < 0``; or bad ``params``.

    Reference:
        Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1.
    """

    hyperparameters = ("beta1", "beta2", "eps", "weight_decay")
    slots = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Tensor] | Tensor, lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ConfigError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        super().__init__(params, lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay)

    @property
    def betas(self) -> tuple[float, float]:
        """``(β₁, β₂)``."""
        return self.beta1, self.beta2

    def _configure(self, beta1: Any, beta2: Any, eps: Any, weight_decay: Any) -> None:
        beta1 = check_number(beta1, "betas[0]", "Adam", min=0.0, max=1.0, max_open=True)
        beta2 = check_number(beta2, "betas[1]", "Adam", min=0.0, max=1.0, max_open=True)
        eps = check_number(eps, "eps", "Adam", min=0.0)
        self.weight_decay = check_number(weight_decay, "weight_decay", "Adam", min=0.0)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, w, g, state: dict[str, Any]) -> None:
        t, b1, b2 = state["step"], self.beta1, self.beta2
        if self.weight_decay:
            g = g + self.weight_decay * w  # a new array: p.grad itself is never changed
        m = self._slot(state, "exp_avg", w)
        v = self._slot(state, "exp_avg_sq", w)
        m *= b1
        m += (1.0 - b1) * g  # m_t = β₁ m_{t-1} + (1 - β₁) g
        v *= b2
        v += (1.0 - b2) * (g * g)  # v_t = β₂ v_{t-1} + (1 - β₂) g²
        bias1, bias2 = 1.0 - b1**t, 1.0 - b2**t
        # η m̂ / (√v̂ + ε) with m̂ = m / bias1 and √v̂ = √v / √bias2
        w -= (self.lr / bias1) * m / (get_array_module(w).sqrt(v) / math.sqrt(bias2) + self.eps)
