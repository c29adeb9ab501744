"""Compare glassnet with a reference implementation on the same inputs.

The reference is any callable on NumPy arrays that returns its outputs and the
gradients of ``sum_k <g_k, y_k>`` with respect to its inputs; the test suite
wraps PyTorch this way (glassnet itself never imports torch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassnet.autograd import Tensor, backward
from glassnet.backend import to_numpy

__all__ = ["check_parity", "assert_allclose", "ParityError"]


class ParityError(AssertionError):
    """glassnet and the reference disagree beyond tolerance."""


def assert_allclose(actual, expected, *, atol: float, rtol: float = 0.0, what: str = "value") -> None:
    """Raise :class:`ParityError` naming ``what`` and the worst index unless ``|a - e| <= atol + rtol |e|``."""
    a, e = np.asarray(to_numpy(actual)), np.asarray(to_numpy(expected))
    if a.shape != e.shape:
        raise ParityError(f"{what}: shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return
    bad = ~np.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        diff = np.where(np.isnan(a) | np.isnan(e), np.inf, np.abs(a.astype(np.float64) - e))
        j = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), a.shape)
        raise ParityError(
            f"{what}: {int(bad.sum())} of {a.size} elements differ; worst at {tuple(int(v) for v in j)}: "
            f"got {a[j]!r}, expected {e[j]!r} (atol={atol}, rtol={rtol})"
        )


def check_parity(
    fn: Callable[..., Any],
    reference: Callable[[list[np.ndarray], list[np.ndarray]], tuple[Sequence[np.ndarray], Sequence[np.ndarray | None]]],
    inputs: Sequence[np.ndarray],
    *,
    atol: float,
    rtol: float = 0.0,
    seed: int = 0,
    params: Sequence[Tensor] = (),
) -> None:
    """Assert that ``fn`` and ``reference`` agree on outputs and gradients.

    Args:
        fn: glassnet callable on Tensors (float inputs require grad).
        reference: ``reference(inputs, upstream) -> (outputs, grads)`` on NumPy
            arrays, where ``grads`` lists ``d sum_k <upstream_k, y_k> / d x``
            for each float input, then for each parameter the reference holds
            (in the order of ``params``); ``None`` skips one.
        inputs: NumPy arrays; float ones get gradients.
        atol, rtol: tolerance.
        seed: seed of the random upstream gradients.
        params: glassnet parameters whose gradients are compared too.

    Raises:
        ParityError: naming the output or gradient that differs.
    """
    tensors = [Tensor(x.copy(), requires_grad=x.dtype.kind == "f") for x in map(np.asarray, inputs)]
    for p in params:
        p.grad = None
    outs = fn(*tensors)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    rng = np.random.default_rng(seed)
    upstream = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    ref_outs, ref_grads = reference([np.asarray(x).copy() for x in inputs], upstream)
    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        assert_allclose(o.data, r, atol=atol, rtol=rtol, what=f"output {k}")
    diff = [(o, u) for o, u in zip(outs, upstream) if o.requires_grad]
    if diff:
        backward([o for o, _ in diff], [u for _, u in diff])
    ours = [t.grad for t in tensors if t.requires_grad] + [p.grad for p in params]
    for k, (g, r) in enumerate(zip(ours, ref_grads)):
        if r is None:
            continue
        g = np.zeros_like(r) if g is None else g
        assert_allclose(g, r, atol=atol, rtol=rtol, what=f"gradient {k}")
