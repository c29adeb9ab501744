"""torchvision state dicts in and out: :func:`load_torchvision`, :func:`to_torchvision`, :class:`TorchvisionMixin`.

The zoo's CNNs (AlexNet, VGG, GoogLeNet, ResNet) mirror torchvision's module tree, so a
module path (``features.0``, ``layer1.0.downsample.1``, ``inception3a.branch2.1.bn``) is the
same in both; only the leaf names differ, by layer type. This file holds that one table:

==============  ==========================  ================================================
glassnet layer  glassnet name               torchvision name
==============  ==========================  ================================================
Conv2d          ``W (C_out, C_in/g, kH, kW)``  ``weight`` (same layout), ``b`` -> ``bias``
BatchNorm2d     ``gamma``, ``beta``          ``weight``, ``bias``; buffers ``running_mean``,
                                              ``running_var``, ``num_batches_tracked`` as they are
Linear          ``W (D, K)``, ``b (K,)``     ``weight (K, D) = W.T``, ``bias``
==============  ==========================  ================================================

Entries come out in torch's ``state_dict`` order (module by module, each module's
parameters then its buffers), so ``list(to_torchvision(model))`` equals the names of the
torchvision model's ``state_dict()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from glassnet import nn
from glassnet.backend import to_numpy
from glassnet.errors import ConfigError, ShapeError

__all__ = ["TorchvisionMixin", "TorchvisionReport", "load_torchvision", "to_torchvision", "torchvision_names"]

# glassnet leaf name -> torch leaf name, per layer type (the one renaming table of the zoo)
_LEAF_NAMES: dict[type, dict[str, str]] = {
    nn.Conv2d: {"W": "weight", "b": "bias"},
    nn.BatchNorm2d: {"gamma": "weight", "beta": "bias", "running_mean": "running_mean",
                     "running_var": "running_var", "num_batches_tracked": "num_batches_tracked"},
    nn.Linear: {"W": "weight", "b": "bias"},
}
# torch's Linear.weight is (out, in); glassnet's W is (in, out)
_TRANSPOSED = {(nn.Linear, "W")}


class TorchvisionReport(NamedTuple):
    """What :func:`load_torchvision` skipped (``strict=False``), by torchvision name.

    ``missing``: names the model needs that ``state`` lacks; ``unexpected``: names in
    ``state`` the model does not have; ``mismatched``: ``"name (expected S, got S')"`` in
    torch's layout.
    """

    missing: list[str]
    unexpected: list[str]
    mismatched: list[str]


class _Entry(NamedTuple):
    torch_name: str
    glassnet_name: str
    value: Any  # the Parameter or the buffer array
    transposed: bool


def _entries(model: nn.Module) -> Iterator[_Entry]:
    for path, module in model.named_modules():
        own_params = [(n, p) for n, p in module.named_parameters() if "." not in n]
        own_buffers = [(n, b) for n, b in module.named_buffers() if "." not in n]
        if not own_params and not own_buffers:
            continue
        table = _LEAF_NAMES.get(type(module))
        if table is None:
            raise ConfigError(f"to_torchvision: module {path or '<root>'!r} ({type(module).__name__}) has "
                              f"parameters but no torchvision naming; known layers: "
                              f"{sorted(t.__name__ for t in _LEAF_NAMES)}")
        prefix = f"{path}." if path else ""
        for leaf, value in own_params + own_buffers:
            if value is None:
                continue
            yield _Entry(prefix + table[leaf], prefix + leaf, value, (type(module), leaf) in _TRANSPOSED)


def torchvision_names(model: nn.Module) -> dict[str, str]:
    """``{torchvision name: glassnet name}`` for every parameter and buffer of ``model``, in torch's order.

    Raises:
        ConfigError: if a module with parameters is not a Conv2d, BatchNorm2d or Linear.
    """
    return {e.torch_name: e.glassnet_name for e in _entries(model)}


def _host(value: Any) -> np.ndarray:
    data = value.data if isinstance(value, nn.Parameter) else value
    return np.array(to_numpy(data))  # a fresh host copy


def to_torchvision(model: nn.Module) -> dict[str, np.ndarray]:
    """``model``'s parameters and buffers as a torchvision ``state_dict`` of fresh NumPy arrays.

    Linear weights come out transposed, ``(K, D)``; everything else keeps its layout. Load the
    result into torch with ``net.load_state_dict({k: torch.from_numpy(v) for k, v in ...})``.

    Raises:
        ConfigError: if a module with parameters is not a Conv2d, BatchNorm2d or Linear.
    """
    out = {}
    for e in _entries(model):
        array = _host(e.value)
        out[e.torch_name] = array.T if e.transposed else array  # a view of the fresh copy
    return out


def load_torchvision(model: nn.Module, state: Mapping[str, Any], strict: bool = True) -> TorchvisionReport:
    """Load a torchvision ``state_dict`` (name -> array, torch's names and layouts) into ``model``.

    Every name is checked before anything changes: a name the model needs and ``state`` lacks is
    *missing*, a name ``state`` has and the model lacks is *unexpected*, and an entry whose shape
    (in torch's layout, Linear ``(K, D)``) differs is *mismatched*. Values may be NumPy arrays,
    numbers or anything ``numpy.asarray`` reads (a CPU ``torch.Tensor``); they are copied and cast
    to each target's dtype.

    Args:
        model: a zoo CNN (any module built from Conv2d, BatchNorm2d and Linear with torch's tree).
        state: mapping from torchvision names to arrays.
        strict: if True, any problem raises and nothing is loaded; if False the good entries are
            loaded and the problems returned.

    Returns:
        ``TorchvisionReport(missing, unexpected, mismatched)`` (all empty after a strict load).

    Raises:
        ConfigError: (strict) missing or unexpected names, listed by name (mismatched ones too);
            also if ``state`` is not a mapping.
        ShapeError: (strict) only mis-shaped entries, listed by name with both shapes.
    """
    if not isinstance(state, Mapping):
        raise ConfigError(f"load_torchvision: state must be a mapping of torchvision names to arrays, got "
                          f"{type(state).__name__}")
    entries = {e.torch_name: e for e in _entries(model)}
    missing = [k for k in entries if k not in state]
    unexpected = [k for k in state if k not in entries]
    mismatched, arrays = [], {}
    for name, e in entries.items():
        if name not in state:
            continue
        array = np.asarray(state[name])
        expected = _host_shape(e)
        if array.shape != expected:
            mismatched.append(f"{name} (expected {expected}, got {array.shape})")
            continue
        arrays[e.glassnet_name] = array.T if e.transposed else array
    if strict and (missing or unexpected or mismatched):
        problems = [f"{label} {names}" for label, names in
                    (("missing", missing), ("unexpected", unexpected), ("mis-shaped", mismatched)) if names]
        message = f"load_torchvision: {type(model).__name__}: " + "; ".join(problems)
        raise ShapeError(message) if not (missing or unexpected) else ConfigError(message)
    model.load_state_dict(arrays, strict=False)
    return TorchvisionReport(missing, unexpected, mismatched)


def _host_shape(e: _Entry) -> tuple[int, ...]:
    shape = tuple(e.value.shape)
    return shape[::-1] if e.transposed else shape


class TorchvisionMixin:
    """Adds ``model.load_torchvision(state, strict=True)`` and ``model.to_torchvision()`` to a zoo CNN."""

    def load_torchvision(self, state: Mapping[str, Any], strict: bool = True) -> TorchvisionReport:
        """See :func:`glassnet.zoo.torchvision.load_torchvision`."""
        return load_torchvision(self, state, strict=strict)  # type: ignore[arg-type]

    def to_torchvision(self) -> dict[str, np.ndarray]:
        """See :func:`glassnet.zoo.torchvision.to_torchvision`."""
        return to_torchvision(self)  # type: ignore[arg-type]
