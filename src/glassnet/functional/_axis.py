"""Axis arguments: check them once, with a readable error, and make them non-negative."""

from __future__ import annotations

import operator

from glassnet.checks import check_bool
from glassnet.errors import ConfigError, ShapeError


def normalize_axis(name: str, axis, ndim: int, arg: str = "axis") -> int:
    """Return ``axis`` in ``[0, ndim)``; negative values count from the end.

    Raises:
        ConfigError: if ``axis`` is not an integer (a bool is refused).
        ShapeError: if ``axis`` is out of range for ``ndim`` dimensions.
    """
    try:
        if isinstance(axis, bool):  # operator.index(True) == 1 would silently mean axis 1
            raise TypeError
        a = operator.index(axis)
    except TypeError:
        raise ConfigError(f"{name}: {arg} must be an integer, got {type(axis).__name__}") from None
    if not -ndim <= a < ndim:
        raise ShapeError(f"{name}: {arg} {a} is out of range for {ndim} dimensions (valid: {-ndim} to {ndim - 1})")
    return a % ndim


def normalize_axes(name: str, axis, ndim: int) -> tuple[int, ...]:
    """Return ``axis`` (None, an int or a sequence of ints) as a sorted tuple of distinct axes.

    ``None`` means every axis.

    Raises:
        ConfigError: if an axis is not an integer or appears twice.
        ShapeError: if an axis is out of range.
    """
    if axis is None:
        return tuple(range(ndim))
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(normalize_axis(name, a, ndim) for a in items)
    if len(set(axes)) != len(axes):
        raise ConfigError(f"{name}: axis {tuple(items)} repeats an axis")
    return tuple(sorted(axes))


def axis_aliases(name: str, axis, dim, keepdims, keepdim) -> tuple:
    """``(axis, keepdims)`` with PyTorch's ``dim=`` / ``keepdim=`` accepted as their aliases.

    Shapes: none (arguments only): ``axis``/``dim`` an int, a tuple of ints or None; the flags bools.

    ``dim`` and ``keepdim`` are None unless the caller passed them; ``keepdims``
    is checked to be a bool.

    Raises:
        ConfigError: if both ``axis`` and ``dim`` (or both ``keepdims=True`` and
            ``keepdim``) are given, or if ``keepdims`` / ``keepdim`` is not a bool.
    """
    if dim is not None:
        if axis is not None:
            raise ConfigError(f"{name}: give axis or its alias dim, not both (got axis={axis!r}, dim={dim!r})")
        axis = dim
    if keepdim is not None:
        if keepdims is not False:
            raise ConfigError(f"{name}: give keepdims or its alias keepdim, not both "
                              f"(got keepdims={keepdims!r}, keepdim={keepdim!r})")
        keepdims = keepdim
    return axis, check_bool(keepdims, "keepdim" if keepdim is not None else "keepdims", name)
