"""Containers: ``ModuleList`` (an indexable list of registered modules) and ``Sequential``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from glassnet.errors import ConfigError
from glassnet.nn.module import Module

__all__ = ["ModuleList", "Sequential"]


class ModuleList(Module):
    """A list of modules, each registered under its index (``"0"``, ``"1"``, …).

    A plain list or tuple of Modules assigned to a Module attribute is wrapped
    in a ModuleList automatically, so ``self.layers = [Linear(...), Linear(...)]``
    registers ``layers.0.W`` … . Supports ``len``, iteration, indexing (negative
    indices; a slice gives a new container of the same modules), assignment to
    an index, :meth:`append` and :meth:`extend`.

    Raises:
        ConfigError: if an item is not a Module, or an index is out of range.
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def _check(self, module: Any) -> Module:
        if not isinstance(module, Module):
            raise ConfigError(f"{type(self).__name__}: items must be Modules, got {type(module).__name__}")
        return module

    def _index(self, i: int) -> str:
        n = len(self)
        if not -n <= i < n:
            raise ConfigError(f"{type(self).__name__}: index {i} out of range for length {n}")
        return str(i % n)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self._modules[str(len(self))] = self._check(module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each module of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def _slice(self, modules: list[Module]) -> ModuleList:
        return type(self)(modules)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return self._slice(list(self._modules.values())[i])
        return self._modules[self._index(i)]

    def __setitem__(self, i: int, module: Module) -> None:
        self._modules[self._index(i)] = self._check(module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: ``y = m_L(… m_2(m_1(x)))``.

    Example::

        model = Sequential(Linear(4, 16, rng=0), ReLU(), Linear(16, 3, rng=1))
        logits = model(x)          # x (N, 4) -> (N, 3)

    Parameters are named by position: ``"0.W"``, ``"0.b"``, ``"2.W"`` … .

    Raises:
        ConfigError: if an argument is not a Module.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def _slice(self, modules: list[Module]) -> Sequential:
        return type(self)(*modules)

    def forward(self, x: Any) -> Any:
        for m in self:
            x = m(x)
        return x
