"""The one training step: forward, loss, finiteness check, ``zero_grad``, ``backward``, clipping, ``step``.

Every training loop of glassnet (the :class:`~glassnet.train.Trainer`, the
Keras-style front end, every lab experiment) takes its steps through
:func:`train_step`, so there is one place to read what a step does::

    loss = compute_loss()              # forward, graph recorded; a scalar Tensor
    check: loss is finite              # else NonFiniteError naming the step, before any update
    optimizer.zero_grad()
    loss.backward()                    # dL/dW for every parameter
    grad_hook()                        # optional: e.g. average the gradients over MPI ranks (distributed)
    check: every gradient is finite    # ditto: the weights (and any checkpoint) stay finite
    clip_grad_norm_(params, max_norm)  # optional (Pascanu et al. 2013)
    optimizer.step()                   # W <- W - update

Reinforcement-learning algorithms keep their own losses (TD targets, policy
gradients) but take the same step through this function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_number
from glassnet.errors import ConfigError, NonFiniteError
from glassnet.optim import clip_grad_norm_

__all__ = ["StepResult", "train_step", "check_finite"]


@dataclass
class StepResult:
    """What :func:`train_step` did.

    Attributes:
        loss: the loss before the update, a Python float.
        outputs: the second item returned by ``compute_loss`` (e.g. the logits, for metrics), else None.
        grad_norm: the global L2 norm of the gradients before clipping (None when not clipping).
    """

    loss: float
    outputs: Any = None
    grad_norm: float | None = None


def check_finite(value: float, where: str, what: str = "loss") -> float:
    """``value`` if it is finite, else stop training with a message naming ``where`` (DESIGN.md: never silently).

    Raises:
        NonFiniteError: ``step 37: loss is nan; lower the learning rate or clip gradients``.
    """
    if not math.isfinite(value):
        raise NonFiniteError(f"{where}: {what} is {value}; lower the learning rate or clip gradients")
    return value


def _named_params(optimizer: Any, model: Any) -> list[tuple[str, Tensor]]:
    if model is not None:
        return list(model.named_parameters())
    return [(f"params[{i}]", p) for i, p in enumerate(optimizer.params)]


def train_step(optimizer: Any, compute_loss: Callable[[], Tensor | tuple[Tensor, Any]] | Tensor, *,
               max_norm: float | None = None, where: str | int = "", model: Any = None,
               params: Iterable[Tensor] | None = None,
               grad_hook: Callable[[], None] | None = None) -> StepResult:
    """Take one optimisation step on the loss that ``compute_loss()`` returns.

    Args:
        optimizer: a :class:`~glassnet.optim.Optimizer`; its parameters are updated.
        compute_loss: a function of no argument that runs the forward pass and returns the scalar loss
            Tensor, or ``(loss, outputs)``; a Tensor already computed is accepted too.
        max_norm: if set (> 0), the gradients of ``optimizer.params`` are rescaled to at most this
            global L2 norm before the update (:func:`~glassnet.optim.clip_grad_norm_`).
        where: how to name this step in an error: a step number (``37`` -> ``"step 37"``) or a text
            (``"epoch 2, step 37"``).
        model: the Module the parameters belong to, only used to name a non-finite gradient
            (``gradient of 'rec.W_h' is not finite``); otherwise named by their index.
        params: the parameters whose gradients are checked and clipped (default ``optimizer.params``).
        grad_hook: called with no argument right after ``backward``, before the gradient checks, e.g.
            :class:`~glassnet.distributed.DistributedDataParallel`, which replaces every gradient by its mean
            over the ranks (so a non-finite gradient on one rank stops every rank at the same step).

    Returns:
        :class:`StepResult` with the loss (before the update), the outputs and the gradient norm.

    Raises:
        NonFiniteError: the loss or a gradient is NaN or infinite; nothing has been updated then.
        ConfigError: a loss that is not a scalar Tensor, or a bad ``max_norm``.
    """
    if max_norm is not None:
        max_norm = check_number(max_norm, "max_norm", "train_step", min=0.0, min_open=True)
    where = f"step {where}" if not isinstance(where, str) else (where or "train_step")
    out = compute_loss() if callable(compute_loss) and not isinstance(compute_loss, Tensor) else compute_loss
    loss, outputs = out if isinstance(out, tuple) else (out, None)
    if not isinstance(loss, Tensor) or loss.size != 1:
        raise ConfigError(f"train_step: the loss must be a scalar Tensor, got "
                          f"{type(loss).__name__}{'' if not isinstance(loss, Tensor) else f' of shape {loss.shape}'}")
    value = check_finite(float(loss.item()), where)
    optimizer.zero_grad()
    loss.backward()
    if grad_hook is not None:
        grad_hook()
    named = _named_params(optimizer, model) if params is None else [
        (f"params[{i}]", p) for i, p in enumerate(params)]
    # Checked before the update, so the parameters (and the last checkpoint) stay finite.
    for name, p in named:
        if p.grad is not None and not bool(get_array_module(p.grad).isfinite(p.grad).all()):
            raise NonFiniteError(f"{where}: gradient of {name!r} is not finite; "
                                 f"lower the learning rate or clip gradients")
    grad_norm = None
    if max_norm is not None:
        grad_norm = clip_grad_norm_([p for _, p in named], max_norm)
    optimizer.step()
    return StepResult(loss=value, outputs=outputs, grad_norm=grad_norm)
