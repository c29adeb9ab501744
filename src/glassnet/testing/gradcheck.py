"""Finite-difference gradient checking.

For a function ``y = f(x_1, ..., x_n)`` and a random upstream gradient ``g``
(the same shape as ``y``), the scalar ``L = sum(g * y)`` has
``dL/dx_i = (dy/dx_i)^T g``: exactly what backward computes. Central
differences estimate it element by element,

    dL/dx[j] ≈ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps),     error O(eps²).

A random ``g`` rather than ones matters: with ``g = 1`` a backward that
forgets a transpose or swaps two gradients can still pass (STYLE.md §6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassnet.autograd import Tensor, backward, no_grad
from glassnet.backend import array_module_for, get_array_module, to_device, to_numpy
from glassnet.errors import ConfigError

__all__ = ["gradcheck", "numerical_grad", "GradcheckError"]


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree (or have the wrong shape or dtype)."""


def _outputs(result) -> list[Tensor]:
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    for o in outs:
        if not isinstance(o, Tensor):
            raise ConfigError(f"gradcheck: fn must return Tensors, got {type(o).__name__}")
    return outs


def _prepare(inputs: Sequence[Any], device: Any) -> list[Tensor]:
    tensors = []
    for x in inputs:
        data = np.array(to_numpy(x.data if isinstance(x, Tensor) else x))
        if data.dtype.kind == "f":  # labels, indices, masks (the rest) are constants
            data = data.astype(np.float64)
        tensors.append(Tensor(to_device(data, device), requires_grad=data.dtype.kind == "f"))
    return tensors


def numerical_grad(fn: Callable[..., Any], tensors: list[Tensor], upstream: list[np.ndarray], i: int, eps: float):
    """Central-difference estimate of ``d sum_k <upstream[k], fn(...)[k]> / d tensors[i]``."""
    x = tensors[i].data
    grad = np.zeros(x.shape, dtype=x.dtype)  # on the host, as ``upstream``
    flat, gflat = x.reshape(-1), grad.reshape(-1)

    def loss() -> float:
        with no_grad():
            outs = _outputs(fn(*tensors))
        return float(sum(np.sum(to_numpy(o.data).astype(np.float64) * u) for o, u in zip(outs, upstream)))

    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        lp = loss()
        flat[j] = old - eps
        lm = loss()
        flat[j] = old
        gflat[j] = (lp - lm) / (2 * eps)
    return grad


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    seed: int = 0,
    check: Sequence[int] | None = None,
    device: Any = "cpu",
) -> bool:
    """Check ``fn``'s backward against central finite differences in float64.

    Every float input is copied to float64 and made to require grad; integer
    inputs (labels, indices) are passed as constants. For each output ``k``
    the upstream gradient ``g_k`` is drawn from ``N(0, 1)`` with ``seed``;
    the analytic ``dL/dx_i`` from backward must match the numeric one with
    ``|analytic - numeric| <= atol + rtol |numeric|`` elementwise.

    Args:
        fn: callable taking Tensors, returning a Tensor or a tuple of Tensors.
        inputs: arrays or Tensors (any float dtype; they are copied to float64).
        eps: finite-difference step.
        atol, rtol: tolerances of the comparison.
        seed: seed of the random upstream gradients.
        check: indices of the inputs to check (default: every float input).
        device: where ``fn`` runs: ``"cpu"``, ``"cuda"`` or an array module registered
            with :func:`glassnet.backend.register_array_module` (the test-only fake device).
            Inputs and upstream gradients are put there; every gradient must come back
            on it, or the check fails (a host fallback). Numeric losses are summed on the host.

    Returns:
        True when every gradient matches.

    Raises:
        GradcheckError: naming the output, the input, the worst index, the
            numeric and analytic values; or when a gradient's shape or dtype
            differs from its input's, or it is not on ``device``.
        ConfigError: for an unknown ``device``.
    """
    xp = array_module_for(device)
    tensors = _prepare(inputs, xp)
    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*tensors))
    float_idx = [i for i, t in enumerate(tensors) if t.requires_grad]
    check = float_idx if check is None else list(check)
    for k, o in enumerate(outs):
        if o.dtype.kind != "f" or not o.requires_grad:
            continue
        # one output at a time, so a failure names the output
        upstream = [rng.standard_normal(oo.shape) if kk == k else np.zeros(oo.shape) for kk, oo in enumerate(outs)]
        for t in tensors:
            t.grad = None
        fresh = _outputs(fn(*tensors))
        backward([fresh[k]], [to_device(upstream[k].astype(fresh[k].dtype), xp)])
        for i in check:
            t = tensors[i]
            analytic = t.grad if t.grad is not None else xp.zeros_like(t.data)
            if get_array_module(analytic) is not xp:
                raise GradcheckError(
                    f"gradcheck: gradient of input {i} is a {type(analytic).__name__}, not an array of {xp.__name__} "
                    f"(device {device!r})"
                )
            if analytic.shape != t.shape or analytic.dtype != t.dtype:
                raise GradcheckError(
                    f"gradcheck: gradient of input {i} has shape {analytic.shape} and dtype {analytic.dtype}, "
                    f"expected {t.shape} and {t.dtype}"
                )
            numeric = numerical_grad(fn, tensors, upstream, i, eps)
            analytic = to_numpy(analytic)
            err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
            if err.size and (err.max() > 0 or not np.all(np.isfinite(analytic))):
                j = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), err.shape)
                raise GradcheckError(
                    f"gradcheck: output {k}, input {i}: worst index {tuple(int(v) for v in j)}: "
                    f"numeric {numeric[j]:.10g}, analytic {analytic[j]:.10g} "
                    f"(atol={atol}, rtol={rtol}, eps={eps})"
                )
    return True
