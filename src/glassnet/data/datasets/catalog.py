"""The list of data sets ``glassnet data`` shows: each loader registers its name and a one-line description."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["register", "available"]

_CATALOG: dict[str, tuple[str, Callable]] = {}


def register(name: str, description: str):
    """Decorator: list ``loader`` under ``name`` with a one-line ``description`` in :func:`available`."""

    def decorate(loader: Callable) -> Callable:
        _CATALOG[name] = (description, loader)
        return loader

    return decorate


def available() -> dict[str, str]:
    """Data set names mapped to a one-line description, sorted by name."""
    return {name: _CATALOG[name][0] for name in sorted(_CATALOG)}
