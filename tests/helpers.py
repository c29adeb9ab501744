"""Shared test harness: declarative op cases, run against NumPy, gradcheck and PyTorch.

A case names a glassnet callable, a NumPy reference and (optionally) a torch
expression; :func:`run_case` checks forward against NumPy, gradcheck in float64
with a random upstream gradient, gradient shapes and dtypes in float32 and
float64, and torch parity in float64 (1e-8) and float32 (1e-4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import assert_allclose, check_parity, gradcheck

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def torch_reference(torch_fn: Callable[..., Any]):
    """Wrap ``torch_fn(*torch_tensors)`` as a :func:`check_parity` reference on NumPy arrays."""

    def reference(inputs, upstream):
        ts = [
            torch.tensor(x, requires_grad=x.dtype.kind == "f") if x.dtype.kind == "f" else torch.from_numpy(x)
            for x in inputs
        ]
        out = torch_fn(*ts)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        diff = [(o, torch.from_numpy(u)) for o, u in zip(outs, upstream) if o.requires_grad]
        if diff:
            torch.autograd.backward([o for o, _ in diff], [u for _, u in diff])
        # an input the output does not depend on gets a zero gradient (torch leaves None)
        grads = [t.grad.numpy() if t.grad is not None else np.zeros(x.shape, dtype=x.dtype)
                 for t, x in zip(ts, inputs) if t.requires_grad]
        return [o.detach().numpy() for o in outs], grads

    return reference


@dataclass
class Case:
    """One op under test: ``fn`` on Tensors, ``ref`` on NumPy arrays, ``torch_fn`` on torch tensors."""

    name: str
    fn: Callable[..., Any]
    inputs: Callable[[np.random.Generator], Sequence[np.ndarray]]
    ref: Callable[..., Any] | None = None
    torch_fn: Callable[..., Any] | None = None
    gradcheck_kwargs: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def make_inputs(case: Case, dtype, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [x.astype(dtype) if x.dtype.kind == "f" else x for x in map(np.asarray, case.inputs(rng))]


def run_case(case: Case) -> None:
    # forward against the NumPy reference, in float64
    xs = make_inputs(case, np.float64)
    if case.ref is not None:
        out = case.fn(*[gn.Tensor(x) for x in xs])
        outs = out if isinstance(out, (tuple, list)) else [out]
        refs = case.ref(*xs)
        refs = refs if isinstance(refs, (tuple, list)) else [refs]
        for o, r in zip(outs, refs):
            assert_allclose(o.data, r, atol=1e-12, rtol=1e-10, what=f"{case.name} forward")
    # gradcheck in float64 under a random upstream gradient
    gradcheck(case.fn, xs, **case.gradcheck_kwargs)
    # gradients keep each input's shape and dtype
    for dtype in (np.float32, np.float64):
        ts = [gn.Tensor(x, requires_grad=x.dtype.kind == "f") for x in make_inputs(case, dtype)]
        out = case.fn(*ts)
        outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if o.requires_grad]
        for o in outs:
            assert o.dtype == dtype, f"{case.name}: output dtype {o.dtype} != {np.dtype(dtype)}"
        gn.backward(outs, [np.ones(o.shape, dtype=o.dtype) for o in outs])
        for t in ts:
            if t.requires_grad and t.grad is not None:
                assert t.grad.shape == t.shape and t.grad.dtype == t.dtype, case.name
    # parity with torch
    if case.torch_fn is not None:
        for dtype, tol in ((np.float64, 1e-8), (np.float32, 1e-4)):
            check_parity(case.fn, torch_reference(case.torch_fn), make_inputs(case, dtype), atol=tol, rtol=tol)


def cupy_or_skip():
    """The ``cupy`` module when CuPy and a CUDA device are present; else skip the test (``gpu`` tests)."""
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy is installed but there is no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"CuPy is installed but CUDA is not usable: {e}")
    return cupy


def run_case_on_device(case: Case, device) -> None:
    """The device half of :func:`run_case`: forward, gradcheck and gradient dtypes with every array on ``device``.

    ``device`` is an array module (the fake device, or CuPy). Run inside
    ``fake_device.guard()`` so that a plain ``np.asarray`` in library code raises too.
    Every output and every gradient must be an array of ``device``: one that comes back
    as a NumPy array is a host fallback. The forward must equal the host forward (the
    fake device computes with NumPy, so to 1e-12; CuPy's kernels sum in other orders, so to 1e-9).
    """
    from glassnet.backend import get_array_module, to_device, to_numpy

    def on_device(xs):
        return [gn.Tensor(to_device(x, device), requires_grad=x.dtype.kind == "f") for x in xs]

    def outputs(out):
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        for k, o in enumerate(outs):
            assert get_array_module(o.data) is device, f"{case.name}: output {k} is a {type(o.data).__name__}"
        return outs

    xs = make_inputs(case, np.float64)
    host = case.fn(*[gn.Tensor(x) for x in xs])
    host = list(host) if isinstance(host, (tuple, list)) else [host]
    tol = 1e-12 if device.__name__ == "fake_device" else 1e-9
    for o, h in zip(outputs(case.fn(*on_device(xs))), host):
        assert_allclose(to_numpy(o.data), h.data, atol=tol, rtol=tol, what=f"{case.name} forward on device")
    gradcheck(case.fn, xs, device=device, **case.gradcheck_kwargs)
    for dtype in (np.float32, np.float64):
        ts = on_device(make_inputs(case, dtype))
        outs = [o for o in outputs(case.fn(*ts)) if o.requires_grad]
        gn.backward(outs, [device.ones(o.shape, dtype=o.dtype) for o in outs])
        for t in ts:
            if t.requires_grad and t.grad is not None:
                assert get_array_module(t.grad) is device, f"{case.name}: gradient on the host"
                assert t.grad.shape == t.shape and t.grad.dtype == t.dtype, case.name
