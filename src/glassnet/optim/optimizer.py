"""``Optimizer``: the base class of the update rules (SGD, AdaGrad, RMSprop, Adam).

An optimizer holds a list of parameters and, for each, a small state: the
number of updates it has had (``step``) and the arrays of its rule (a
velocity, a running mean of squared gradients, …). :meth:`Optimizer.step`
updates every parameter that has a gradient, in place, on the arrays
(``w -= …``) under :func:`~glassnet.no_grad`; parameters whose ``grad`` is
None are skipped and their state is left as it is (PyTorch's behaviour).

``state_dict()`` returns plain data, JSON-able scalars plus NumPy arrays, so
that a checkpoint can store it without pickle; loading it into a fresh
optimizer over the same parameters resumes training bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from glassnet.autograd import Tensor, no_grad
from glassnet.backend import get_array_module, to_numpy
from glassnet.checks import check_number, check_size
from glassnet.errors import ConfigError, ShapeError

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: keeps ``params``, ``lr`` and per-parameter state; subclasses write the update rule.

    A subclass lists its hyperparameters (saved by :meth:`state_dict`) and its
    per-parameter arrays, validates the hyperparameters in ``_configure`` and
    implements ``_update(w, g, state)`` on arrays: ``w`` the parameter's data
    (updated in place), ``g`` its gradient (never written), ``state`` a dict
    with ``state["step"] = t`` (1 on the first update of that parameter).

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``), or one Parameter.
        lr: learning rate η >= 0; ``opt.lr`` may be changed at any time (schedulers do).

    Attributes:
        params: list of the Parameters, in the given order.
        state: one dict per parameter (empty until its first update).

    Raises:
        ConfigError: if ``params`` is empty, holds something other than a tensor
            with ``requires_grad=True``, holds a parameter twice, or ``lr < 0``.
    """

    hyperparameters: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor] | Tensor, lr: float, **hyperparameters: Any) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            params = [params]
        try:
            params = list(params)
        except TypeError:
            got = type(params).__name__
            raise ConfigError(f"{name}: params must be an iterable of Parameters, got {got}") from None
        if not params:
            raise ConfigError(f"{name}: params is empty (did the model register its Parameters?)")
        seen: set[int] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ConfigError(
                    f"{name}: params[{i}] must be a Parameter (a Tensor with requires_grad=True), got {p!r:.60}"
                )
            if id(p) in seen:
                raise ConfigError(f"{name}: params[{i}] appears twice in params")
            seen.add(id(p))
        self.params: list[Tensor] = params
        self.lr = lr
        self._configure(**hyperparameters)
        self.state: list[dict[str, Any]] = [{} for _ in params]

    @property
    def lr(self) -> float:
        """The learning rate η (a float >= 0)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_number(value, "lr", type(self).__name__, min=0.0)

    def _configure(self, **hyperparameters: Any) -> None:  # pragma: no cover - every subclass overrides
        for k, v in hyperparameters.items():
            setattr(self, k, v)

    def _update(self, w, g, state: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> None:
        """Update every parameter that has a gradient, once, in place; skip those whose ``grad`` is None.

        Raises:
            ShapeError: if a gradient's shape differs from its parameter's (a hand-set ``grad`` would
                otherwise broadcast silently into the in-place update).
        """
        with no_grad():
            for i, (p, state) in enumerate(zip(self.params, self.state)):
                if p.grad is None:
                    continue
                if p.grad.shape != p.data.shape:
                    raise ShapeError(
                        f"{type(self).__name__}.step: params[{i}].grad has shape {p.grad.shape}, "
                        f"expected the parameter's {p.data.shape}"
                    )
                state["step"] = state.get("step", 0) + 1
                self._update(p.data, p.grad, state)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.params:
            p.grad = None

    def _slot(self, state: dict[str, Any], name: str, w):
        # per-parameter arrays start at zero, on the parameter's device and dtype
        if name not in state:
            state[name] = get_array_module(w).zeros_like(w)
        return state[name]

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """A copy of the optimizer's state as plain data.

        Keys: ``"optimizer"`` (class name), ``"num_params"``, ``"lr"``, each
        hyperparameter by name, and ``"state.{i}.{name}"`` for parameter ``i``'s
        step count (an int) and arrays (NumPy copies). Everything except the
        arrays is a JSON-able scalar.
        """
        out: dict[str, Any] = {"optimizer": type(self).__name__, "num_params": len(self.params), "lr": self.lr}
        out.update({h: getattr(self, h) for h in self.hyperparameters})
        for i, state in enumerate(self.state):
            for k, v in state.items():
                out[f"state.{i}.{k}"] = int(v) if k == "step" else np.array(to_numpy(v))
        return out

    def _required_slots(self, state: Mapping[str, Any]) -> tuple[str, ...]:
        """The per-parameter slots a saved ``state`` must hold for each stepped parameter."""
        return self.slots

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``lr``, the hyperparameters and every parameter's state from :meth:`state_dict`'s output.

        Everything is checked before anything changes. Arrays are copied (never
        aliased), cast to each parameter's dtype and moved to its device.

        Raises:
            ConfigError: if ``state`` is for another optimizer class or another
                number of parameters, has missing or unknown keys, or a value out of range.
            ShapeError: listing state arrays whose shape differs from their parameter's.
        """
        name = type(self).__name__
        if not isinstance(state, Mapping):
            raise ConfigError(f"{name}.load_state_dict: state must be a mapping, got {type(state).__name__}")
        if state.get("optimizer") != name:
            got = state.get("optimizer")
            raise ConfigError(f"{name}.load_state_dict: state is for optimizer {got!r}, not {name!r}")
        if state.get("num_params") != len(self.params):
            raise ConfigError(
                f"{name}.load_state_dict: state has {state.get('num_params')!r} parameters, this optimizer "
                f"{len(self.params)}"
            )
        scalars = ("optimizer", "num_params", "lr", *self.hyperparameters)
        missing = [k for k in scalars if k not in state]
        unknown, mismatched = [], []
        per_param: list[dict[str, Any]] = [{} for _ in self.params]
        for key, value in state.items():
            if key in scalars:
                continue
            parts = key.split(".")
            ok = len(parts) == 3 and parts[0] == "state" and parts[1].isdigit() and int(parts[1]) < len(self.params)
            if not ok or parts[2] not in ("step", *self.slots):
                unknown.append(key)
                continue
            i, slot = int(parts[1]), parts[2]
            if slot == "step":
                per_param[i][slot] = check_size(value, key, f"{name}.load_state_dict")
            else:
                array = to_numpy(value)
                if array.shape != self.params[i].shape:
                    mismatched.append(f"{key} (expected {self.params[i].shape}, got {array.shape})")
                per_param[i][slot] = array
        missing += [f"state.{i}.step" for i, s in enumerate(per_param) if s and "step" not in s]
        # a parameter that has taken steps must bring every slot its update reads,
        # or the slot would silently restart at zero while the step count goes on
        required = self._required_slots(state)
        missing += [f"state.{i}.{slot}" for i, s in enumerate(per_param) if "step" in s
                    for slot in required if slot not in s]
        if missing or unknown:
            raise ConfigError(f"{name}.load_state_dict: missing keys {missing}; unknown keys {unknown}")
        if mismatched:
            raise ShapeError(f"{name}.load_state_dict: shape mismatch: " + ", ".join(mismatched))
        before = (self._lr, {h: getattr(self, h) for h in self.hyperparameters})
        try:
            self.lr = state["lr"]
            self._configure(**{h: state[h] for h in self.hyperparameters})
        except ConfigError:
            self._lr = before[0]
            for h, v in before[1].items():
                setattr(self, h, v)
            raise
        for p, s in zip(self.params, per_param):
            xp = get_array_module(p.data)
            for k, v in s.items():
                if k != "step":
                    s[k] = xp.array(v, dtype=p.data.dtype)  # a copy, on the parameter's device
        self.state = per_param

    def __repr__(self) -> str:
        hyper = ", ".join(f"{h}={getattr(self, h)}" for h in self.hyperparameters)
        return f"{type(self).__name__}({len(self.params)} params, lr={self.lr}{', ' if hyper else ''}{hyper})"
