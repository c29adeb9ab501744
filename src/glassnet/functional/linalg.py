"""Linear algebra: matmul (NumPy's matrix product) and linear (the fused dense layer ``x W + b``).

For ``Y = A B`` and ``L`` a scalar, ``dL/dA = dL/dY Bᵀ`` and ``dL/dB = Aᵀ dL/dY``:
each gradient is one more matrix product, which is why ``linear`` folds all
leading axes into one so that every gradient is a single GEMM.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import DTypeError, ShapeError
from glassnet.functional.broadcast import unbroadcast

__all__ = ["matmul", "linear"]


class MatMul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.matmul(a, b)

    # Y = A B:  dL/dA = G Bᵀ,  dL/dB = Aᵀ G  (batch axes summed back where they were broadcast)
    def backward(self, grad_y):
        a, b = self.saved
        # 1-D operands are promoted as np.matmul does: a (K,) -> (1, K), b (K,) -> (K, 1)
        a2 = a[None, :] if a.ndim == 1 else a  # (*Ba, N, K)
        b2 = b[:, None] if b.ndim == 1 else b  # (*Bb, K, M)
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = grad_y.reshape(batch + (a2.shape[-2], b2.shape[-1]))  # (*B, N, M), the promoted axes back
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = unbroadcast(g @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)  # (*Ba, N, K)
        if self.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                # B shared by every batch: fold the batch into the rows, one GEMM instead of a sum of many
                k, m = b2.shape
                rows = math.prod(a2.shape[:-1])  # explicit, not -1: reshape(-1, 0) is ambiguous for K = 0
                grad_b = a2.reshape(rows, k).T @ g.reshape(rows, m)  # (K, M)
            else:
                grad_b = unbroadcast(a2.swapaxes(-1, -2) @ g, b2.shape)  # (*Bb, K, M)
            grad_b = grad_b.reshape(b.shape)
        return grad_a, grad_b


def _check_float_pair(name: str, **arrays) -> None:
    kinds = {k: v.dtype.kind == "f" for k, v in arrays.items()}
    if any(kinds.values()) and not all(kinds.values()):
        got = ", ".join(f"{k} {v.dtype}" for k, v in arrays.items())
        raise DTypeError(f"{name}: operands must all be float (or none), got {got}")


def matmul(a, b) -> Tensor:
    """Matrix product ``y = a @ b`` with NumPy's ``matmul`` rules (also ``a @ b`` on Tensors).

    Formula: ``y[..., n, m] = Σ_k a[..., n, k] b[..., k, m]``. Backward:
    ``grad_a = grad_y bᵀ``, ``grad_b = aᵀ grad_y``, each summed back over batch
    axes that were broadcast.

    Shapes: ``a (*Ba, N, K)``, ``b (*Bb, K, M)`` with ``Ba`` and ``Bb``
    broadcastable -> ``y (*B, N, M)``. A 1-D ``a (K,)`` is treated as ``(1, K)``
    and a 1-D ``b (K,)`` as ``(K, 1)``, and the added axis is dropped from
    ``y``; two 1-D operands give their dot product (a 0-d tensor).
    dtype: the operands' (both float32 or both float64).

    Raises:
        ShapeError: if an operand is 0-d, the inner dimensions ``K`` differ, or
            the batch axes do not broadcast.
        DTypeError: if a float operand meets a non-float one, or float32 meets float64.
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension, got a {a.shape} and b {b.shape}")
    _check_float_pair("matmul", a=a.data, b=b.data)
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if ka != kb:
        raise ShapeError(
            f"matmul: inner dimensions differ: a {a.shape} has {ka} columns (last axis), "
            f"b {b.shape} has {kb} rows ({'second-to-last' if b.ndim >= 2 else 'only'} axis)"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"matmul: batch axes {a.shape[:-2]} of a {a.shape} and {b.shape[:-2]} of b {b.shape} do not broadcast"
        ) from None
    return MatMul().apply(a, b)


class Linear(Function):
    def forward(self, x, W, b=None):
        self.x_shape = x.shape
        d, h = W.shape
        x2 = x.reshape(int(np.prod(x.shape[:-1], dtype=np.int64)), d)  # (N·T, D)
        y = x2 @ W  # (N·T, H)
        if b is not None:
            y += b  # y is a fresh array: adding in place saves one (N·T, H) temporary
        self.save_for_backward(x2, W)
        return y.reshape(x.shape[:-1] + (h,))  # (N, T, H)

    # y = x W + b:  dL/dx = G Wᵀ,  dL/dW = xᵀ G,  dL/db = Σ_rows G
    def backward(self, grad_y):
        x2, W = self.saved
        g2 = grad_y.reshape(x2.shape[0], W.shape[1])  # (N·T, H)
        need = self.needs_input_grad
        grad_x = (g2 @ W.T).reshape(self.x_shape) if need[0] else None  # (N·T, D) -> (N, T, D)
        grad_W = x2.T @ g2 if need[1] else None  # (D, H)
        if len(need) == 2:
            return grad_x, grad_W
        return grad_x, grad_W, (g2.sum(axis=0) if need[2] else None)  # (H,)


def linear(x, W, b=None) -> Tensor:
    """Dense (affine) layer ``y = x W + b`` as one fused Function.

    Formula: ``y[..., h] = Σ_d x[..., d] W[d, h] + b[h]``. Backward, with all
    leading axes folded into rows so each is a single matrix product:
    ``grad_x = grad_y Wᵀ``, ``grad_W = xᵀ grad_y``, ``grad_b = Σ_rows grad_y``.

    Shapes: ``x (N, D)``, ``(N, T, D)`` or any ``(*S, D)``; ``W (D, H)`` (in,
    out, as the course writes ``np.dot(x, W)``); ``b (H,)`` or None ->
    ``y (*S, H)``. dtype: the operands' (all float32 or all float64).
    Deviation: ``torch.nn.functional.linear`` takes the weight as ``(H, D)``.

    Raises:
        ShapeError: if ``W`` is not 2-D, ``x``'s last axis is not ``D``, or
            ``b`` is not ``(H,)``.
        DTypeError: if an operand is not float, or float32 meets float64.
    """
    x, W = as_tensor(x), as_tensor(W)
    if W.ndim != 2:
        raise ShapeError(f"linear: W must be (D, H), got shape {W.shape}")
    d, h = W.shape
    if x.ndim == 0 or x.shape[-1] != d:
        raise ShapeError(f"linear: x must be (*, D) with D == {d} (W is {W.shape}), got {x.shape}")
    operands = [x, W] if b is None else [x, W, as_tensor(b, like=W)]
    if b is not None and operands[2].shape != (h,):
        raise ShapeError(f"linear: b must be (H,) with H == {h} (W is {W.shape}), got {operands[2].shape}")
    for name, t in zip("xWb", operands):
        if t.dtype.kind != "f":
            raise DTypeError(f"linear: {name} must be a float array, got dtype {t.dtype}")
    return Linear().apply(*operands)
