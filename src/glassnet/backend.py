"""Array-module choice: NumPy by default, CuPy when the data lives on a GPU.

Math code never branches on the device. It asks ``xp = get_array_module(x)``
and writes ``xp.exp(x)``; the same line runs on NumPy and CuPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.errors import ConfigError

try:  # CuPy is optional: it exists only on machines with a CUDA GPU.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

__all__ = [
    "get_array_module",
    "cupy_available",
    "to_numpy",
    "to_device",
    "get_default_dtype",
    "set_default_dtype",
    "FLOAT_DTYPES",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_default_dtype = np.dtype(np.float32)


def cupy_available() -> bool:
    """Return True when CuPy imported (a CUDA GPU and its runtime are present)."""
    return _cupy is not None


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``.

    Tensors are looked through (their ``.data`` is inspected).
    """
    if _cupy is not None:
        for a in arrays:
            # a CuPy array has a ``.data`` too (its MemoryPointer): look through Tensors only
            if not isinstance(a, _cupy.ndarray):
                a = getattr(a, "data", a)
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` (NumPy or CuPy array, or Tensor) as a NumPy array on the host."""
    if not isinstance(x, np.ndarray) and not (_cupy is not None and isinstance(x, _cupy.ndarray)):
        x = getattr(x, "data", x)  # a Tensor; an array's own ``.data`` is its raw buffer
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy.asnumpy(x)
    return np.asarray(x)


def to_device(x: Any, device: str):
    """Move an array to ``device`` ('cpu' or 'cuda').

    Raises:
        ConfigError: for an unknown device, or 'cuda' when CuPy is not installed.
    """
    if device == "cpu":
        return to_numpy(x)
    if device == "cuda":
        if _cupy is None:
            raise ConfigError("to_device: device 'cuda' needs CuPy, which is not installed")
        return _cupy.asarray(x)
    raise ConfigError(f"to_device: device must be 'cpu' or 'cuda', got {device!r}")


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python numbers and of new parameters (float32)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default float dtype: ``numpy.float32`` or ``numpy.float64``.

    Raises:
        ConfigError: for any other dtype.
    """
    global _default_dtype
    d = np.dtype(dtype)
    if d not in FLOAT_DTYPES:
        raise ConfigError(f"set_default_dtype: dtype must be float32 or float64, got {d}")
    _default_dtype = d
