"""Gradient clipping by global norm and by value, in place on ``param.grad``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number
from glassnet.errors import ConfigError, NonFiniteError

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(name: str, params: Iterable[Tensor] | Tensor) -> list:
    if isinstance(params, Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise ConfigError(f"{name}: params must be an iterable of Parameters, got {type(params).__name__}") from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise ConfigError(f"{name}: params[{i}] must be a Parameter, got {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(params: Iterable[Tensor] | Tensor, max_norm: float) -> float:
    """Rescale all gradients together so that their global L2 norm is at most ``max_norm``.

    ::

        ‖g‖ = √(Σ_p Σ_j g_{p,j}²)                    (over every parameter's gradient)
        if ‖g‖ > c:   g_p ← g_p · c / (‖g‖ + 10⁻⁶)    for every p

    Legend: ``g_p`` the gradient of parameter ``p``, ``c = max_norm``. The
    direction of the whole update is kept and only its length is capped,
    which tames the exploding gradients of RNNs without biasing the
    direction (clipping each coordinate would). The 10⁻⁶ and the test on the
    coefficient ``c / (‖g‖ + 10⁻⁶) < 1`` are PyTorch's, so results match
    ``torch.nn.utils.clip_grad_norm_``. The norm is accumulated in float64,
    so float32 gradients near 1e19 do not overflow their squares.

    Args:
        params: Parameters (or one); those whose ``grad`` is None are ignored.
        max_norm: ``c > 0``.

    Returns:
        The global norm before clipping, a Python float (0.0 when no gradient exists).

    Raises:
        ConfigError: if ``max_norm`` is not a positive finite number or ``params`` is not Parameters.
        NonFiniteError: if the norm is inf or NaN; the gradients are then left unchanged,
            so training stops instead of writing NaN into the weights.

    Reference:
        Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML 2013.
    """
    max_norm = check_number(max_norm, "max_norm", "clip_grad_norm_", min=0.0, min_open=True)
    grads = _grads("clip_grad_norm_", params)
    # summed where the gradients live: one number comes to the host, not one per parameter
    total = math.sqrt(float(sum((get_array_module(g).sum(g.astype(np.float64) ** 2) for g in grads), start=0.0)))
    if not math.isfinite(total):
        raise NonFiniteError(f"clip_grad_norm_: the total gradient norm is {total}; a gradient holds inf or NaN")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(params: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element to ``[-c, c]``: ``g ← min(max(g, -c), c)``, in place.

    Unlike :func:`clip_grad_norm_` this changes the direction of the update.
    Same as ``torch.nn.utils.clip_grad_value_``; NaN stays NaN.

    Args:
        params: Parameters (or one); those whose ``grad`` is None are ignored.
        clip_value: ``c > 0``.

    Raises:
        ConfigError: if ``clip_value`` is not a positive finite number or ``params`` is not Parameters.
    """
    clip_value = check_number(clip_value, "clip_value", "clip_grad_value_", min=0.0, min_open=True)
    for g in _grads("clip_grad_value_", params):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)
