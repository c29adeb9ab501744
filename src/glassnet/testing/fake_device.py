"""A fake GPU on the CPU: an array module whose arrays refuse to become host arrays implicitly.

The CuPy rule of :mod:`glassnet.backend` is that math code asks ``xp = get_array_module(x)`` and
never calls NumPy on device data, nor copies it to the host inside a step. On a machine without a
GPU nothing checks that rule: ``np.exp(x)`` and ``xp.exp(x)`` give the same numbers. This module
makes every breach an error on the CPU:

* :class:`DeviceArray` is an ``ndarray`` subclass (so it stores its numbers in host memory and
  every ndarray method works on it) that behaves, for conversion, as ``cupy.ndarray`` does;
* :data:`fake_device` is a module object with the NumPy API (``fake_device.exp``,
  ``fake_device.zeros``, ``fake_device.add.at``, ``fake_device.lib.stride_tricks`` …) whose
  results are DeviceArrays, registered with :func:`glassnet.backend.register_array_module`, so
  ``get_array_module(device_array) is fake_device`` and ``Module.to(fake_device)`` moves a model.

How NumPy's dispatch is used (for a subclass, each protocol catches a different path):

* ``__array_function__`` catches every *function* of the ``numpy`` namespace that NumPy
  dispatches (``np.concatenate``, ``np.zeros_like``, ``np.where``, ``np.pad``, ``np.save`` …)
  called with a DeviceArray anywhere in its arguments: it raises :class:`HostFallbackError`.
  This is stricter than CuPy, which forwards some of them to itself; the project's rule is
  ``xp.foo``, never ``np.foo``, on data that may live on a device.
* ``__array_ufunc__`` lets ufuncs run (operators such as ``a + b`` and ``a @ b``, and ndarray
  methods such as ``.sum()`` and ``.max()``, are ufuncs underneath, as on CuPy), but refuses a
  host ndarray mixed with device ones, as CuPy does (``device + np.zeros(3)`` raises): this is
  what catches a host array made with ``np.zeros(shape)`` or a NumPy ``Generator`` and then
  combined with device data. Results are DeviceArrays, 0-d ones where NumPy gives a scalar (as
  CuPy does).
* ``__array__`` raises, and so does ``.tolist()``.
* ``np.asarray``, ``np.array``, ``np.asanyarray``, ``np.ascontiguousarray`` and
  ``np.asfortranarray`` of an ndarray subclass never consult the object (NumPy takes any
  ndarray as it is): no protocol can catch them. :func:`guard` therefore replaces those five
  names *in the numpy namespace* for the duration of a ``with`` block by versions that raise on
  a DeviceArray (or a list or tuple holding one) and are the originals otherwise.

The explicit path is allowed: :func:`glassnet.backend.to_numpy` (``fake_device.asnumpy``) copies
to the host, as ``cupy.asnumpy`` does; ``float(x)``, ``int(x)``, ``bool(x)`` and ``x.item()`` of a
one-element array are allowed too (CuPy allows them; they synchronise). Host arrays may come *to*
the device with ``fake_device.asarray`` / ``fake_device.array`` and as indices (``x[host_idx]``),
as on CuPy.

Limits (what this does not catch):

* the five conversion functions only under :func:`guard`, and only when called through the
  ``numpy`` module (``from numpy import asarray`` made before the block escapes it);
* ndarray methods written in C are checked (and give device results) only where listed
  below the class (``argmax``, ``dot``, ``take``, ``put`` …); others, if they take another
  array, do not refuse a host one;
* a ufunc called through NumPy on device data alone (``np.exp(x)``) runs, as it does on CuPy
  (which implements ``__array_ufunc__``); the style rule still asks for ``xp.exp``;
* ``isinstance(x, np.ndarray)`` is True for a DeviceArray but False for a ``cupy.ndarray``: code
  that branches on it takes the host branch here and another one on a GPU (none does in
  ``functional``, ``nn``, ``optim`` and ``zoo``: checked by a grep, not by this module);
* ``memoryview(x)``, ``x.data``, ``x.tobytes()`` and the buffer protocol see host memory;
* Python lists of numbers passed to ``fake_device`` functions are accepted (CuPy refuses most);
* nothing is slow: explicit copies inside a step (``to_numpy``, ``float(x)`` in a loop over the
  parameters) are not caught, only implicit conversions are.

Not part of the library proper: tests use it (``glassnet.testing``), and it never imports CuPy.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from glassnet.backend import register_array_module

__all__ = ["DeviceArray", "HostFallbackError", "fake_device", "guard", "is_device_array"]


class HostFallbackError(TypeError):
    """A DeviceArray was turned into a host array implicitly, or mixed with one (CuPy raises TypeError)."""


def is_device_array(x: Any) -> bool:
    """True when ``x`` is a :class:`DeviceArray`."""
    return isinstance(x, DeviceArray)


def _refuse(what: str) -> HostFallbackError:
    return HostFallbackError(
        f"fake device: {what}; on CuPy this fails or copies to the host. Use xp = get_array_module(x) "
        "and xp functions, or glassnet.backend.to_numpy(x) where the host is really wanted"
    )


def _host(x: Any, where: str):
    """``x`` with every DeviceArray seen as a plain ndarray (same memory); refuse host ndarrays."""
    if isinstance(x, DeviceArray):
        return x.view(np.ndarray)
    if isinstance(x, np.ndarray):
        raise _refuse(f"{where} got a host numpy.ndarray of shape {x.shape} among device arrays")
    if isinstance(x, (list, tuple)):
        return type(x)(_host(v, where) for v in x)
    return x


def _device(y: Any):
    """Results as DeviceArrays: arrays as views, NumPy scalars as 0-d arrays (as CuPy returns them)."""
    if type(y) is np.ndarray:
        return y.view(DeviceArray)
    if isinstance(y, np.generic):
        return np.array(y).view(DeviceArray)
    if isinstance(y, tuple):
        return tuple(_device(v) for v in y)
    if isinstance(y, list):
        return [_device(v) for v in y]
    return y


def _plain(x: Any):
    """``x`` with every DeviceArray seen as a plain ndarray (same memory); host arrays pass.

    For indices (``x[host_idx]`` is allowed, as on CuPy) and for data coming to the device.
    """
    if isinstance(x, DeviceArray):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


class DeviceArray(np.ndarray):
    """An ``ndarray`` that stands for device memory: NumPy may compute with it but never take it to the host.

    Make one with ``fake_device.asarray(host_array)`` (a copy) and get the numbers back with
    :func:`glassnet.backend.to_numpy`. See the module docstring for what raises and why.
    """

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        for x in inputs:
            if not isinstance(x, (np.ndarray, np.generic, int, float, complex, bool)):
                return NotImplemented  # a Tensor: its reflected operator takes over
        where = f"numpy.{ufunc.__name__}"
        raw = _host(inputs, where)
        kwargs = {k: _host(v, where) for k, v in kwargs.items()}  # where=, initial= …
        if out is not None:
            kwargs["out"] = _host(out, f"{where}(out=...)")
        result = getattr(ufunc, method)(*raw, **kwargs)
        if out is not None and method != "at":
            return out[0] if len(out) == 1 else out
        return _device(result)

    def __array_function__(self, func, types, args, kwargs):
        raise _refuse(f"numpy.{func.__name__} called on a DeviceArray")

    def __array__(self, dtype=None, copy=None):
        raise _refuse("implicit conversion of a DeviceArray to numpy.ndarray (__array__)")

    def tolist(self):
        raise _refuse("DeviceArray.tolist() (the explicit path is to_numpy(x).tolist())")

    def __getitem__(self, key):
        return _device(self.view(np.ndarray)[_plain(key)])

    def __setitem__(self, key, value):
        self.view(np.ndarray)[_plain(key)] = _host(value, "DeviceArray.__setitem__")

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self.view(np.ndarray), separator=", ", prefix="DeviceArray(")
        return f"DeviceArray({body}, dtype={self.dtype})"

    def __str__(self) -> str:
        return str(self.view(np.ndarray))


def _wrap_method(name: str):
    def method(self, *args, **kwargs):
        where = f"DeviceArray.{name}"
        raw_kwargs = {k: _host(v, where) for k, v in kwargs.items()}
        return _device(getattr(self.view(np.ndarray), name)(*_host(args, where), **raw_kwargs))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"numpy.ndarray.{name} with device arrays in and out."
    return method


# ndarray methods written in C that would give host arrays or NumPy scalars (CuPy gives device
# arrays) or take another array; the methods built on ufuncs (sum, max, mean, clip …) go through
# __array_ufunc__ already
for _name in ("argmax", "argmin", "argsort", "nonzero", "dot", "take", "repeat", "diagonal", "trace", "cumsum",
              "cumprod", "choose", "compress", "searchsorted", "put"):
    setattr(DeviceArray, _name, _wrap_method(_name))
del _name


_CONVERSIONS = ("asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray")


class _DeviceUfunc:
    """A NumPy ufunc that takes and gives device arrays only (``fake_device.add``, ``fake_device.add.at``)."""

    def __init__(self, ufunc: np.ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def _run(self, method: str, args, kwargs):
        where = f"fake_device.{self.__name__}" + ("" if method == "__call__" else f".{method}")
        raw_kwargs = {k: _host(v, where) for k, v in kwargs.items()}  # out=, where= …
        result = getattr(self._ufunc, method)(*_host(args, where), **raw_kwargs)
        if "out" in kwargs and method != "at":
            out = kwargs["out"]
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _device(result)

    def __call__(self, *args, **kwargs):
        return self._run("__call__", args, kwargs)

    def __getattr__(self, name: str):
        if name in ("reduce", "accumulate", "reduceat", "outer", "at"):
            return lambda *args, **kwargs: self._run(name, args, kwargs)
        return getattr(self._ufunc, name)


class _DeviceNamespace(types.ModuleType):
    """The NumPy API (a namespace of it) with device arrays in and out: the fake device's ``xp``."""

    def __init__(self, name: str, host: types.ModuleType):
        super().__init__(name)
        self._host_module = host

    def __getattr__(self, name: str):
        attr = getattr(self._host_module, name)
        if isinstance(attr, np.ufunc):
            wrapped: Any = _DeviceUfunc(attr)
        elif isinstance(attr, types.ModuleType):
            wrapped = _DeviceNamespace(f"{self.__name__}.{name}", attr)
        elif isinstance(attr, type) or not callable(attr):
            wrapped = attr  # dtypes (float32, dtype, finfo), constants (inf, newaxis, pi)
        else:
            wrapped = self._function(name, attr)
        setattr(self, name, wrapped)  # looked up once
        return wrapped

    def _function(self, name: str, func):
        where = f"{self.__name__}.{name}"

        def device_function(*args, **kwargs):
            raw_args = _host(args, where)
            raw_kwargs = {k: _host(v, where) for k, v in kwargs.items()}
            return _device(func(*raw_args, **raw_kwargs))

        device_function.__name__ = name
        device_function.__doc__ = f"{where}: numpy.{name} on device arrays."
        return device_function


class _FakeDevice(_DeviceNamespace):
    ndarray = DeviceArray

    def __init__(self):
        super().__init__("fake_device", np)

    def asarray(self, a: Any, dtype=None, order=None) -> DeviceArray:
        """Host or device data as a DeviceArray (a copy only when needed), as ``cupy.asarray``."""
        if isinstance(a, DeviceArray):
            return a if dtype is None or a.dtype == dtype else a.astype(dtype)
        return _ORIGINAL["array"](_plain(a), dtype=dtype, order=order or "K", copy=True).view(DeviceArray)

    def array(self, a: Any, dtype=None, copy: bool = True, order=None) -> DeviceArray:
        """A DeviceArray copy of host or device data, as ``cupy.array``."""
        if isinstance(a, DeviceArray) and not copy:
            return self.asarray(a, dtype)
        return _ORIGINAL["array"](_plain(a), dtype=dtype, order=order or "K", copy=True).view(DeviceArray)

    def ascontiguousarray(self, a: Any, dtype=None) -> DeviceArray:
        """A C-contiguous DeviceArray, as ``cupy.ascontiguousarray``."""
        return self.asarray(_ORIGINAL["ascontiguousarray"](_plain(self.asarray(a)), dtype=dtype))

    def asnumpy(self, a: Any) -> np.ndarray:
        """The explicit path to the host: a plain ``numpy.ndarray`` copy, as ``cupy.asnumpy``."""
        if isinstance(a, DeviceArray):
            return a.view(np.ndarray).copy()
        return _ORIGINAL["asarray"](a)


_ORIGINAL = {name: getattr(np, name) for name in _CONVERSIONS}

fake_device = _FakeDevice()
"""The fake device's array module: pass it to ``Module.to``, ``Tensor.to`` or ``to_device``."""

register_array_module(DeviceArray, fake_device)


def _holds_device_array(a: Any) -> bool:
    if isinstance(a, DeviceArray):
        return True
    return isinstance(a, (list, tuple)) and any(_holds_device_array(v) for v in a)


def _guarded(name: str):
    original = _ORIGINAL[name]

    def conversion(a, *args, **kwargs):
        if _holds_device_array(a):
            raise _refuse(f"numpy.{name} of a DeviceArray")
        return original(a, *args, **kwargs)

    conversion.__name__ = name
    conversion.__doc__ = original.__doc__
    return conversion


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Inside the block, ``np.asarray`` and its four siblings raise :class:`HostFallbackError` on a DeviceArray.

    NumPy never asks an ndarray subclass before converting it, so these five names of the
    ``numpy`` namespace are replaced for the block's duration and restored after it (also on an
    error). Other arguments go to the originals unchanged. Blocks may nest.
    """
    previous = {name: getattr(np, name) for name in _CONVERSIONS}
    try:
        for name in _CONVERSIONS:
            setattr(np, name, _guarded(name))
        yield
    finally:
        for name, f in previous.items():
            setattr(np, name, f)
