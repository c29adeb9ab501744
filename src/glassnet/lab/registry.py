"""Finding experiments: every module of ``glassnet.lab``'s topic folders that defines an Experiment subclass.

Discovery imports the lab's modules once; an experiment appears by existing,
with no list to keep in sync.
"""

from __future__ import annotations

import importlib
import pkgutil

from glassnet.errors import ConfigError
from glassnet.lab.base import Experiment

__all__ = ["experiments", "get_experiment"]

_INFRASTRUCTURE = {"base", "registry", "report", "plotting", "recorded", "images"}


def experiments() -> dict[str, type[Experiment]]:
    """All experiments by name, ordered by course topic then name."""
    import glassnet.lab as lab

    for info in pkgutil.walk_packages(lab.__path__, prefix="glassnet.lab."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf not in _INFRASTRUCTURE and not leaf.startswith("_"):
            importlib.import_module(info.name)
    found: dict[str, type[Experiment]] = {}
    stack = list(Experiment.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("glassnet.lab.") and getattr(cls, "name", None):
            found[cls.name] = cls
    return dict(sorted(found.items(), key=lambda kv: (kv[1].topic, kv[0])))


def get_experiment(name: str) -> type[Experiment]:
    """The experiment called ``name``.

    Raises:
        ConfigError: for an unknown name, listing the known ones.
    """
    table = experiments()
    if name not in table:
        raise ConfigError(f"lab: unknown experiment {name!r}; known: {', '.join(table) or '(none)'}")
    return table[name]
