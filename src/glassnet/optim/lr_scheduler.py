"""Learning-rate schedules: set ``optimizer.lr`` as a function of the epoch (or step) count.

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``. Each
schedule computes ``lr`` in closed form from the base rate (``optimizer.lr``
when the scheduler was made) and its counter ``last_epoch``, so its state is
two numbers and a resumed run sets exactly the same rates. The values equal
``torch.optim.lr_scheduler``'s (PyTorch updates recursively, which agrees
to rounding). A change made to ``optimizer.lr`` by hand is overwritten at
the next ``step()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from glassnet.checks import check_int, check_number, check_size
from glassnet.errors import ConfigError
from glassnet.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts"]


class LRScheduler:
    """Base class: ``optimizer.lr = lr_at(last_epoch)``; subclasses define :meth:`lr_at`.

    Attributes:
        optimizer: the optimizer whose ``lr`` is set.
        base_lr: the optimizer's ``lr`` when the scheduler was made.
        last_epoch: how many times :meth:`step` has been called (0 at first).

    Raises:
        ConfigError: if ``optimizer`` is not a glassnet Optimizer.
    """

    hyperparameters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ConfigError(
                f"{type(self).__name__}: optimizer must be a glassnet Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set ``optimizer.lr`` to that epoch's rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        """The rate set by the last :meth:`step` (or by construction)."""
        return self.lr_at(self.last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """``{"scheduler", "base_lr", "last_epoch", <hyperparameters>}``: JSON-able scalars."""
        out = {"scheduler": type(self).__name__, "base_lr": self.base_lr, "last_epoch": self.last_epoch}
        out.update({h: getattr(self, h) for h in self.hyperparameters})
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the counter, base rate and hyperparameters, and set ``optimizer.lr`` accordingly.

        Raises:
            ConfigError: if ``state`` is for another scheduler class or has missing or bad values.
        """
        name = type(self).__name__
        if not isinstance(state, Mapping) or state.get("scheduler") != name:
            got = state.get("scheduler") if isinstance(state, Mapping) else type(state).__name__
            raise ConfigError(f"{name}.load_state_dict: state is for {got!r}, not {name!r}")
        missing = [k for k in ("base_lr", "last_epoch", *self.hyperparameters) if k not in state]
        if missing:
            raise ConfigError(f"{name}.load_state_dict: missing keys {missing}")
        epoch = state["last_epoch"]
        epoch = check_int(epoch, "last_epoch", f"{name}.load_state_dict", min=0)
        base_lr = check_number(state["base_lr"], "base_lr", name, min=0.0)
        self._configure(**{h: state[h] for h in self.hyperparameters})
        self.base_lr, self.last_epoch = base_lr, int(epoch)
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def _configure(self, **hyperparameters: Any) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class StepLR(LRScheduler):
    """Step decay: ``η_e = η_0 · γ^⌊e / s⌋`` (multiply by γ every ``s`` epochs).

    Args:
        optimizer: the optimizer to schedule; ``η_0`` is its current ``lr``.
        step_size: ``s``, a positive int.
        gamma: ``γ > 0``.

    Raises:
        ConfigError: if ``step_size`` is not a positive int or ``gamma <= 0``.
    """

    hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self._configure(step_size=step_size, gamma=gamma)
        super().__init__(optimizer)

    def _configure(self, step_size: Any, gamma: Any) -> None:
        step_size = check_size(step_size, "step_size", "StepLR")
        self.gamma = check_number(gamma, "gamma", "StepLR", min=0.0, min_open=True)
        self.step_size = step_size

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Exponential decay: ``η_e = η_0 · γ^e``.

    Args:
        optimizer: the optimizer to schedule; ``η_0`` is its current ``lr``.
        gamma: ``γ > 0``.

    Raises:
        ConfigError: if ``gamma <= 0``.
    """

    hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self._configure(gamma=gamma)
        super().__init__(optimizer)

    def _configure(self, gamma: Any) -> None:
        self.gamma = check_number(gamma, "gamma", "ExponentialLR", min=0.0, min_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing: ``η_e = η_min + (η_0 - η_min) · (1 + cos(π e / T_max)) / 2``.

    Falls from ``η_0`` to ``η_min`` over ``T_max`` epochs; past ``T_max`` the
    cosine continues (the rate rises again), as in PyTorch. No warm restarts.

    Args:
        optimizer: the optimizer to schedule; ``η_0`` is its current ``lr``.
        T_max: half-period in epochs, a positive int.
        eta_min: ``η_min >= 0``.

    Raises:
        ConfigError: if ``T_max`` is not a positive int or ``eta_min < 0``.

    Reference:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
    """

    hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self._configure(T_max=T_max, eta_min=eta_min)
        super().__init__(optimizer)

    def _configure(self, T_max: Any, eta_min: Any) -> None:
        T_max = check_size(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = check_number(eta_min, "eta_min", "CosineAnnealingLR", min=0.0)
        self.T_max = T_max

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): ``η_e = η_min + (η_0 - η_min) · (1 + cos(π T_cur / T_i)) / 2``.

    Cycle ``i`` lasts ``T_i = T_0 · T_mult^i`` epochs; ``T_cur`` counts the epochs since the
    last restart, and at ``T_cur = T_i`` the rate jumps back to ``η_0`` (a restart). In closed
    form, with ``T_mult = 1``: ``T_cur = e mod T_0``; with ``T_mult > 1``: cycle
    ``i = ⌊log_{T_mult}(e (T_mult - 1) / T_0 + 1)⌋`` starts at epoch ``T_0 (T_mult^i - 1) / (T_mult - 1)``.
    Snapshot ensembles (Huang et al. 2017) take one model per cycle, at its end, where the rate is lowest.

    Args:
        optimizer: the optimizer to schedule; ``η_0`` is its current ``lr``.
        T_0: the first cycle's length in epochs, a positive int.
        T_mult: each cycle is ``T_mult`` times longer than the one before, an int >= 1 (as in PyTorch).
        eta_min: ``η_min >= 0``.

    Raises:
        ConfigError: if ``T_0`` is not a positive int, ``T_mult`` not an int >= 1 or ``eta_min < 0``.

    Reference:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017;
        the values equal ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``'s.
    """

    hyperparameters = ("T_0", "T_mult", "eta_min")

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> None:
        self._configure(T_0=T_0, T_mult=T_mult, eta_min=eta_min)
        super().__init__(optimizer)

    def _configure(self, T_0: Any, T_mult: Any, eta_min: Any) -> None:
        name = "CosineAnnealingWarmRestarts"
        self.T_0 = check_size(T_0, "T_0", name)
        self.T_mult = check_size(T_mult, "T_mult", name)
        self.eta_min = check_number(eta_min, "eta_min", name, min=0.0)

    def cycle(self, epoch: int) -> tuple[int, int, int]:
        """``(i, T_cur, T_i)`` at ``epoch``: the cycle's index, the epochs since its start, and its length."""
        if self.T_mult == 1:
            return epoch // self.T_0, epoch % self.T_0, self.T_0
        # integer search instead of the float logarithm: exact at the cycle boundaries
        i, start, length = 0, 0, self.T_0
        while epoch >= start + length:
            i, start, length = i + 1, start + length, length * self.T_mult
        return i, epoch - start, length

    def lr_at(self, epoch: int) -> float:
        _, t_cur, t_i = self.cycle(epoch)
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * t_cur / t_i)) / 2.0
