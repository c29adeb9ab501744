"""``Module``: the base class of every layer and model.

A Module owns three ordered registries, filled by plain attribute assignment:

* ``_parameters``: :class:`~glassnet.nn.Parameter` attributes (trained);
* ``_modules``: sub-Module attributes (a list or tuple of Modules is wrapped in
  a :class:`~glassnet.nn.ModuleList` so that it is registered too);
* ``_buffers``: arrays declared with :meth:`Module.register_buffer` (state that
  is saved but not trained, e.g. running statistics).

Registration order is assignment order, so ``named_parameters()`` and
``state_dict()`` list the same names in the same order on every run. Names
join the attribute path with dots: ``layers.0.W``. The design follows
``torch.nn.Module``.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from glassnet.autograd import Tensor, as_array
from glassnet.backend import FLOAT_DTYPES, array_module_for, get_array_module, to_device, to_numpy
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.nn.parameter import Parameter

__all__ = ["Module", "LoadResult"]

_REGISTRIES = ("_parameters", "_buffers", "_modules")


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` skipped with ``strict=False``."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _indent(text: str, spaces: int) -> str:
    return text.replace("\n", "\n" + " " * spaces)


class Module:
    """Base class of layers and models: parameters, sub-modules, buffers, modes.

    Subclasses call ``super().__init__()`` first, assign their parameters and
    sub-modules as attributes, and implement :meth:`forward`; calling the
    module calls ``forward``::

        class MLP(Module):
            def __init__(self, D, H, K, rng=None):
                super().__init__()
                self.fc1 = Linear(D, H, rng=rng)   # registered as "fc1"
                self.fc2 = Linear(H, K, rng=rng)

            def forward(self, x):                 # x (N, D) -> (N, K)
                return self.fc2(F.relu(self.fc1(x)))

    Attributes:
        training: True in training mode (the default), False after :meth:`eval`.
            Layers such as Dropout read it.

    Raises:
        ConfigError: assigning a Parameter or Module before ``super().__init__()``,
            or a value of the wrong kind to a registered name.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: forward is not implemented")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, (list, tuple)) and value and all(isinstance(m, Module) for m in value):
            from glassnet.nn.container import ModuleList

            value = ModuleList(value)
        if isinstance(value, (Parameter, Module)):
            if "_parameters" not in d:
                raise ConfigError(
                    f"{type(self).__name__}: call super().__init__() before assigning attribute {name!r}"
                )
            self._forget(name)
            registry = d["_parameters"] if isinstance(value, Parameter) else d["_modules"]
            registry[name] = value
            return
        for registry, kind in ((d.get("_parameters"), "Parameter"), (d.get("_modules"), "Module")):
            if registry is not None and name in registry:
                if value is not None:
                    raise ConfigError(
                        f"{type(self).__name__}: attribute {name!r} holds a {kind}; assign a {kind} or None, "
                        f"got {type(value).__name__}"
                    )
                registry[name] = None
                return
        buffers = d.get("_buffers")
        if buffers is not None and name in buffers:
            buffers[name] = self._as_buffer(name, value)
            return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only reached when ordinary lookup fails: registered names live in the registries
        d = self.__dict__
        for registry in _REGISTRIES:
            r = d.get(registry)
            if r is not None and name in r:
                return r[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if not self._forget(name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _forget(self, name: str) -> bool:
        d = self.__dict__
        found = name in d
        d.pop(name, None)
        for registry in _REGISTRIES:
            r = d.get(registry)
            if r is not None and name in r:
                del r[name]
                found = True
        return found

    def _as_buffer(self, name: str, value: Any):
        if value is None:
            return None
        if isinstance(value, Parameter):
            raise ConfigError(f"{type(self).__name__}: buffer {name!r} must be an array, got a Parameter")
        array = as_array(value)
        if array.dtype.kind not in "biuf":
            raise DTypeError(f"{type(self).__name__}: buffer {name!r} must be numeric, got dtype {array.dtype}")
        return array

    def register_buffer(self, name: str, array: Any) -> None:
        """Register ``array`` as non-trained state saved by :meth:`state_dict` (e.g. running means).

        After registration ``self.<name>`` reads the array and assigning to it
        replaces the buffer. :meth:`to` casts float buffers; integer buffers
        (counters) keep their dtype.

        Args:
            name: attribute name (no dots).
            array: a NumPy/CuPy array, a number, or None (a buffer not yet set).

        Raises:
            ConfigError: if ``name`` is empty, has a dot, or is already another attribute,
                or if called before ``super().__init__()``.
            DTypeError: if ``array`` is not numeric.
        """
        cls = type(self).__name__
        if "_buffers" not in self.__dict__:
            raise ConfigError(f"{cls}: call super().__init__() before register_buffer({name!r})")
        if not isinstance(name, str) or not name or "." in name:
            raise ConfigError(f"{cls}: register_buffer: name must be a non-empty string without '.', got {name!r}")
        if name not in self._buffers and hasattr(self, name):
            raise ConfigError(f"{cls}: register_buffer: attribute {name!r} already exists")
        self._buffers[name] = self._as_buffer(name, array)

    # ---------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules as ``(name, module)`` in registration order."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """Direct sub-modules in registration order."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, pre-order, each once; this module's name is ``prefix``."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            stack.extend(reversed([(_join(name, n), c) for n, c in m.named_children()]))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, pre-order."""
        for _, m in self.named_modules():
            yield m

    def _named_registered(self, registry: str, prefix: str) -> Iterator[tuple[str, Any, Module, str]]:
        # (full name, value, owner, attribute) of each entry, each object once (tied weights)
        seen: set[int] = set()
        for mod_name, m in self.named_modules(prefix):
            for attr, value in m.__dict__[registry].items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield _join(mod_name, attr), value, m, attr

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter as ``(name, parameter)``: own ones first, then each child's, depth first.

        A parameter shared by two modules appears once, under its first name.
        Names look like ``"layers.0.W"``; ``prefix`` is prepended.
        """
        for name, p, _, _ in self._named_registered("_parameters", prefix):
            yield name, p

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, in :meth:`named_parameters` order (an iterator, as in PyTorch)."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Every buffer that is not None as ``(name, array)``, in the order of :meth:`named_parameters`."""
        for name, b, _, _ in self._named_registered("_buffers", prefix):
            yield name, b

    def buffers(self) -> Iterator[Any]:
        """Every buffer array that is not None."""
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self) -> int:
        """Total number of scalar parameters (shared parameters counted once)."""
        return int(sum(p.size for p in self.parameters()))

    # -------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every descendant; returns self.

        Raises:
            ConfigError: if ``mode`` is not a bool.
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise ConfigError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout becomes the identity; returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``, as PyTorch's default)."""
        for p in self.parameters():
            p.grad = None

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, then every buffer, as host NumPy arrays keyed by name.

        The arrays are fresh copies: changing the module later does not change them.
        """
        state = {name: np.array(to_numpy(p.data)) for name, p in self.named_parameters()}
        state.update({name: np.array(to_numpy(b)) for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy arrays from ``state`` into the parameters and buffers of the same names.

        Every problem is found before anything changes, and one error lists them
        all. Values are copied (the module never aliases ``state``'s arrays),
        cast to each target's dtype and moved to its device. Parameters stay the
        same objects, so an optimizer holding them keeps working.

        Args:
            state: mapping from names (as in :meth:`state_dict`) to arrays.
            strict: if True, missing and unexpected keys are errors; if False
                they are skipped and returned.

        Returns:
            ``LoadResult(missing_keys, unexpected_keys)`` (both empty when strict).

        Raises:
            ConfigError: (strict) listing missing and unexpected keys, plus any
                shape mismatches; also if ``state`` is not a mapping.
            ShapeError: listing keys whose shape differs from the target's.
            DTypeError: listing keys whose values are not numeric arrays.
        """
        cls = type(self).__name__
        if not isinstance(state, Mapping):
            raise ConfigError(f"{cls}.load_state_dict: state must be a mapping of names to arrays, got "
                              f"{type(state).__name__}")
        targets = {name: (owner, registry, attr, value)
                   for registry in ("_parameters", "_buffers")
                   for name, value, owner, attr in self._named_registered(registry, "")}
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        mismatched, not_numeric, arrays = [], [], {}
        for key, (_, _, _, current) in targets.items():
            if key not in state:
                continue
            value = state[key]
            value = value.data if isinstance(value, Tensor) else value
            array = to_numpy(value) if hasattr(value, "shape") else np.asarray(value)
            if array.dtype.kind not in "biuf":
                not_numeric.append(f"{key} (dtype {array.dtype})")
            elif array.shape != current.shape:
                mismatched.append(f"{key} (expected {current.shape}, got {array.shape})")
            arrays[key] = array
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if mismatched:
            problems.append("shape mismatch: " + ", ".join(mismatched))
        if not_numeric:
            problems.append("not numeric: " + ", ".join(not_numeric))
        if problems:
            message = f"{cls}.load_state_dict: " + "; ".join(problems)
            if strict and (missing or unexpected):
                raise ConfigError(message)
            raise ShapeError(message) if mismatched else DTypeError(message)
        for key, array in arrays.items():
            owner, registry, attr, current = targets[key]
            xp = get_array_module(current)
            fresh = xp.array(array, dtype=current.dtype)  # a copy: never alias the caller's array
            if registry == "_parameters":
                current.data = fresh
            else:
                owner.__dict__["_buffers"][attr] = fresh
        return LoadResult(missing, unexpected)

    def to(self, target: Any) -> Module:
        """Cast float parameters, gradients and buffers to a dtype, or move them to a device; returns self.

        As ``torch.nn.Module.to``, parameters stay the same objects (their ``data`` and
        ``grad`` are replaced), so an optimizer built on them keeps working; and as in torch,
        optimizer state is *not* moved: move the model first, then build the optimizer (or
        load the optimizer's state dict afterwards, which puts each slot on its parameter's device).

        Args:
            target: ``numpy.float32`` / ``numpy.float64`` (or their names), or a
                device: ``"cpu"``, ``"cuda"`` (CuPy) or an array module registered with
                :func:`glassnet.backend.register_array_module` (the test-only fake device).
                Integer buffers keep their dtype. A stateful recurrent layer's carried state moves
                (and is cast) with the weights.

        Raises:
            ConfigError: for any other dtype or device ('cuda' needs CuPy: the message says so).
        """
        device = target in ("cpu", "cuda") if isinstance(target, str) else isinstance(target, types.ModuleType)
        if device:
            xp = array_module_for(target)
            convert = lambda a: to_device(a, xp)
        else:
            try:
                dtype = None if target is None else np.dtype(target)  # np.dtype(None) would be float64
            except TypeError:
                dtype = None
            if dtype is None or dtype not in FLOAT_DTYPES:  # (np.dtype(None) == float64, hence the first test)
                raise ConfigError(
                    f"{type(self).__name__}.to: target must be float32, float64, 'cpu' or 'cuda', got {target!r}"
                )
            convert = lambda a: a.astype(dtype, copy=False) if a.dtype.kind == "f" else a
        for p in self.parameters():
            p.data = convert(p.data)
            if p.grad is not None:
                p.grad = convert(p.grad)
        for _, b, owner, attr in self._named_registered("_buffers", ""):
            owner.__dict__["_buffers"][attr] = convert(b)
        for m in self.modules():  # state that is neither a parameter nor a buffer (a stateful RNN's carried h, c)
            hook = getattr(m, "_convert_state", None)
            if hook is not None:
                hook(convert)
        return self

    # --------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The settings shown inside this module's ``repr`` parentheses (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        lines += [f"({name}): " + _indent(repr(m), 2) for name, m in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
