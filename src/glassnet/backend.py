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
    "register_array_module",
    "array_module_for",
    "cupy_available",
    "to_numpy",
    "to_device",
    "get_default_dtype",
    "set_default_dtype",
    "FLOAT_DTYPES",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_default_dtype = np.dtype(np.float32)

# (array type, its module) of every device array library: CuPy when it imported, plus any
# module given to register_array_module (the test-only fake device).
_DEVICE_MODULES: list[tuple[type, Any]] = []


def register_array_module(array_type: type, module: Any) -> None:
    """Make :func:`get_array_module` return ``module`` for arrays of ``array_type`` (a device array).

    The hook through which CuPy is known, and through which a test-only array module
    (:mod:`glassnet.testing.fake_device`) stands in for a GPU on the CPU, so that no
    library code special-cases either. ``module`` must offer the NumPy API on its arrays
    (as CuPy does), ``module.asarray(host_or_device_array)`` and ``module.asnumpy(array)``
    (the explicit copy to the host, used by :func:`to_numpy`). Registering a type again
    replaces its module.

    Raises:
        ConfigError: if ``array_type`` is not a type or ``module`` lacks ``asarray`` or ``asnumpy``.
    """
    if not isinstance(array_type, type):
        raise ConfigError(f"register_array_module: array_type must be a type, got {array_type!r}")
    for name in ("asarray", "asnumpy"):
        if not callable(getattr(module, name, None)):
            raise ConfigError(f"register_array_module: module must have a callable {name!r}, got {module!r}")
    _DEVICE_MODULES[:] = [(t, m) for t, m in _DEVICE_MODULES if t is not array_type]
    _DEVICE_MODULES.append((array_type, module))


if _cupy is not None:  # pragma: no cover - depends on the machine
    register_array_module(_cupy.ndarray, _cupy)


def _device_module(a: Any):
    for array_type, module in _DEVICE_MODULES:
        if isinstance(a, array_type):
            return module
    return None


def cupy_available() -> bool:
    """Return True when CuPy imported (a CUDA GPU and its runtime are present)."""
    return _cupy is not None


def get_array_module(*arrays: Any):
    """Return the module of the first device array among the arguments (``cupy``), else ``numpy``.

    Tensors are looked through (their ``.data`` is inspected). Device array types are
    those CuPy brings and those given to :func:`register_array_module`.
    """
    if _DEVICE_MODULES:
        for a in arrays:
            xp = _device_module(a)
            # arrays have a ``.data`` too (a buffer, a MemoryPointer): look through Tensors only
            if xp is None and not isinstance(a, np.ndarray):
                xp = _device_module(getattr(a, "data", None))
            if xp is not None:
                return xp
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` (NumPy or device array, or Tensor) as a NumPy array on the host.

    The one explicit path from a device to the host (a copy there; ``x`` itself for a NumPy array).
    """
    xp = _device_module(x)
    if xp is None and not isinstance(x, np.ndarray):
        x = getattr(x, "data", x)  # a Tensor; an array's own ``.data`` is its raw buffer
        xp = _device_module(x)
    if xp is not None:
        return xp.asnumpy(x)
    return np.asarray(x)


def array_module_for(device: Any):
    """The array module of ``device``: ``'cpu'`` -> numpy, ``'cuda'`` -> cupy, or a registered module itself.

    Raises:
        ConfigError: for an unknown device, or 'cuda' when CuPy is not installed.
    """
    if isinstance(device, str):
        if device == "cpu":
            return np
        if device == "cuda":
            if _cupy is None:
                raise ConfigError(
                    "device 'cuda' needs CuPy, which is not installed (pip install cupy-cuda12x on a machine "
                    "with an NVIDIA GPU)"
                )
            return _cupy
    elif device is np or any(device is m for _, m in _DEVICE_MODULES):
        return device
    raise ConfigError(f"device must be 'cpu', 'cuda' or a registered array module, got {device!r}")


def to_device(x: Any, device: Any):
    """Move an array to ``device`` ('cpu', 'cuda' or a registered array module); no copy if it is there.

    Raises:
        ConfigError: for an unknown device, or 'cuda' when CuPy is not installed.
    """
    xp = array_module_for(device)
    if xp is np:
        return to_numpy(x)
    if _device_module(x) is xp:
        return x
    return xp.asarray(to_numpy(x))


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
