"""Attention: scores between a decoder's queries and an encoder's states, a masked softmax, context vectors.

A decoder state ``q_t`` (the query) is compared with every encoder state ``k_s``
(the keys, one per source position ``s``); the scores become weights by a
softmax over the source positions, padding masked out; the context vector is
the weighted average of the values (usually the encoder states again)::

    e_ts = score(q_t, k_s)                        (N, Tq, S)
    a_ts = exp(e_ts) / Σ_{s' valid} exp(e_ts')    0 at masked positions
    c_t  = Σ_s a_ts v_s                           (N, Tq, Hv)

Scores: ``dot`` and ``general`` (Luong et al. 2015), ``additive`` (Bahdanau et
al. 2015). Masks are boolean arrays, ``True`` where a position may be attended
to (PyTorch's ``scaled_dot_product_attention`` convention); a query whose every
position is masked gets all-zero weights and a zero context, never NaN.

Shapes: N batch, Tq query steps (decoder), S source positions (encoder), H
query/key features, Hv value features, A the additive score's hidden size.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import get_array_module, to_numpy
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional.activation import require_float
from glassnet.functional.linalg import matmul

__all__ = [
    "length_mask", "masked_softmax", "dot_score", "general_score", "additive_score", "context_vectors",
    "dot_attention",
]


def length_mask(lengths, S: int):
    """Boolean key mask ``(N, S)``: ``mask[n, s] = s < lengths[n]`` (True = a real token, may be attended to).

    Raises:
        ShapeError: if ``lengths`` is not 1-D or a length is outside ``[0, S]``.
    """
    xp = get_array_module(lengths)
    lengths = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ShapeError(f"length_mask: lengths must be a 1-D integer array (N,), got {lengths.dtype} {lengths.shape}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > S):
        raise ShapeError(f"length_mask: lengths must be in [0, S] with S == {S}, got {to_numpy(lengths).tolist()}")
    return xp.arange(S)[None, :] < lengths[:, None]  # (N, S)


def _softmax_rows(xp, s, mask):
    """Softmax over the last axis with ``mask`` (bool, broadcastable) False positions excluded; 0 for empty rows."""
    if mask is not None:
        s = xp.where(mask, s, -xp.inf)
    m = s.max(axis=-1, keepdims=True)
    # a fully masked row has max -inf; shifting by 0 instead keeps exp(-inf - 0) = 0 and avoids inf - inf = NaN
    m = xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(s - m)
    z = e.sum(axis=-1, keepdims=True)
    return e / xp.where(z > 0, z, 1)  # stable: every exponent <= 0, the largest term is exactly 1


# d softmax_i/dx_j = y_i (δ_ij - y_j)  =>  grad_x = y * (grad_y - Σ_j grad_y_j y_j); masked y_i = 0 get 0
def _softmax_rows_backward(y, grad_y):
    return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))


class MaskedSoftmax(Function):
    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        y = _softmax_rows(self.xp, x, self.mask)
        self.save_for_backward(y)
        return y

    def backward(self, grad_y):
        (y,) = self.saved
        return _softmax_rows_backward(y, grad_y)


class DotScore(Function):
    def __init__(self, scale: float):
        self.scale = scale

    def forward(self, q, k):
        self.save_for_backward(q, k)
        return (q @ k.swapaxes(-1, -2)) * self.scale  # (N, Tq, H) @ (N, H, S) -> (N, Tq, S)

    # e = c q kᵀ: grad_q = c grad_e k, grad_k = c grad_eᵀ q
    def backward(self, grad_e):
        q, k = self.saved
        g = grad_e * self.scale if self.scale != 1.0 else grad_e
        grad_q = g @ k if self.needs_input_grad[0] else None  # (N, Tq, S) @ (N, S, H)
        grad_k = g.swapaxes(-1, -2) @ q if self.needs_input_grad[1] else None  # (N, S, Tq) @ (N, Tq, H)
        return grad_q, grad_k


class AdditiveScore(Function):
    def forward(self, q, k, W_q, W_k, v):
        pq = q @ W_q  # (N, Tq, A)
        pk = k @ W_k  # (N, S, A)
        u = self.xp.tanh(pq[:, :, None, :] + pk[:, None, :, :])  # (N, Tq, S, A)
        self.save_for_backward(q, k, W_q, W_k, v, u)
        return u @ v  # (N, Tq, S)

    # e = tanh(q W_q + k W_k) v: grad_u = grad_e v, grad_a = grad_u (1 - u²), then sums over the broadcast axes
    def backward(self, grad_e):
        q, k, W_q, W_k, v, u = self.saved
        grad_v = self.xp.einsum("nts,ntsa->a", grad_e, u)  # (A,)
        grad_a = grad_e[..., None] * v * (1 - u * u)  # (N, Tq, S, A)
        grad_pq = grad_a.sum(axis=2)  # (N, Tq, A)
        grad_pk = grad_a.sum(axis=1)  # (N, S, A)
        A = v.shape[0]
        grad_q = grad_pq @ W_q.T  # (N, Tq, H)
        grad_k = grad_pk @ W_k.T  # (N, S, H)
        grad_W_q = q.reshape(-1, q.shape[-1]).T @ grad_pq.reshape(-1, A)  # (H, A)
        grad_W_k = k.reshape(-1, k.shape[-1]).T @ grad_pk.reshape(-1, A)  # (Hk, A)
        return grad_q, grad_k, grad_W_q, grad_W_k, grad_v


class DotAttention(Function):
    def __init__(self, mask, scale: float):
        self.mask, self.scale = mask, scale

    def forward(self, q, k, v):
        e = (q @ k.swapaxes(-1, -2)) * self.scale  # (N, Tq, S)
        a = _softmax_rows(self.xp, e, self.mask)  # (N, Tq, S)
        self.save_for_backward(q, k, v, a)
        return a @ v, a  # context (N, Tq, Hv), weights (N, Tq, S)

    # c = a v, a = softmax(e), e = c q kᵀ, chained by hand so one node replaces four
    def backward(self, grad_c, grad_a):
        q, k, v, a = self.saved
        grad_v = a.swapaxes(-1, -2) @ grad_c  # (N, S, Tq) @ (N, Tq, Hv) -> (N, S, Hv)
        grad_a = grad_a + grad_c @ v.swapaxes(-1, -2)  # (N, Tq, S)
        grad_e = _softmax_rows_backward(a, grad_a) * self.scale
        grad_q = grad_e @ k  # (N, Tq, H)
        grad_k = grad_e.swapaxes(-1, -2) @ q  # (N, S, H)
        return grad_q, grad_k, grad_v


# ------------------------------------------------------------------------------------------------ checks
def _check_3d(name: str, arg: str, t: Tensor, last: int | None = None) -> None:
    require_float(name, arg, t)
    if t.ndim != 3 or (last is not None and t.shape[2] != last):
        want = "(N, T, H)" if last is None else f"(N, T, H) with H == {last}"
        raise ShapeError(f"{name}: {arg} must be {want}, got {t.shape}")


def _check_qk(name: str, q: Tensor, k: Tensor, same_features: bool = True) -> None:
    _check_3d(name, "q", q)
    _check_3d(name, "k", k, q.shape[2] if same_features else None)
    if k.shape[0] != q.shape[0]:
        raise ShapeError(f"{name}: q and k must have the same batch size N, got {q.shape[0]} and {k.shape[0]}")


def _check_mask(name: str, mask, N: int, Tq: int, S: int, xp):
    """The mask as a bool array of ``xp`` broadcastable to ``(N, Tq, S)``: ``(N, S)`` becomes ``(N, 1, S)``."""
    if mask is None:
        return None
    mask = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.dtype != np.bool_:
        raise DTypeError(f"{name}: mask must be a bool array (True = may attend), got dtype {mask.dtype}")
    if mask.shape == (N, S):
        mask = mask[:, None, :]  # a key-padding mask, the same for every query step
    try:
        if np.broadcast_shapes(mask.shape, (N, Tq, S)) != (N, Tq, S):
            raise ValueError
    except ValueError:
        raise ShapeError(f"{name}: mask must be (N, S) or broadcastable to (N, Tq, S) == {(N, Tq, S)}, "
                         f"got {mask.shape}") from None
    return mask


def _scale(name: str, scale, H: int) -> float:
    if scale is None:
        return 1.0
    if scale == "sqrt":
        return 1.0 / float(np.sqrt(H))
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale):
        raise ConfigError(f"{name}: scale must be None, 'sqrt' or a finite number, got {scale!r}")
    return float(scale)


# ---------------------------------------------------------------------------------------------- wrappers
def masked_softmax(x, mask=None) -> Tensor:
    """Softmax over the last axis (source positions) that leaves masked positions out.

    ``y_i = mask_i exp(x_i) / Σ_j mask_j exp(x_j)``; a row with no unmasked
    position gives ``y = 0`` (not the NaN of ``0 / 0``), so a padded query
    contributes nothing. Computed as ``exp(x - max)`` over the unmasked entries.

    Backward: ``grad_x = y * (grad_y - Σ_j grad_y_j y_j)``, hence 0 at masked positions.

    Shapes: ``x (*B, S)``; ``mask`` bool broadcastable to ``x`` (True = keep), or None
    for a plain softmax over the last axis. dtype: that of ``x``.

    Raises:
        DTypeError: if ``x`` is not float or ``mask`` is not bool.
        ShapeError: if ``mask`` does not broadcast to ``x``'s shape.
    """
    x = as_tensor(x)
    require_float("masked_softmax", "x", x)
    if mask is not None:
        mask = get_array_module(x).asarray(mask.data if isinstance(mask, Tensor) else mask)
        if mask.dtype != np.bool_:
            raise DTypeError(f"masked_softmax: mask must be a bool array (True = keep), got dtype {mask.dtype}")
        try:
            if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
                raise ValueError
        except ValueError:
            raise ShapeError(f"masked_softmax: mask must broadcast to x's shape {x.shape}, got {mask.shape}") from None
    return MaskedSoftmax(mask).apply(x)


def dot_score(q, k, scale=None) -> Tensor:
    """Dot-product scores ``e_ts = c · q_t · k_s`` (Luong et al. 2015, "dot"; ``c = 1/√H`` is Vaswani et al.'s).

    Backward: ``grad_q = c grad_e k``, ``grad_k = c grad_eᵀ q``.

    Shapes: ``q (N, Tq, H)``, ``k (N, S, H)`` -> ``e (N, Tq, S)``. dtype: the inputs'.

    Args:
        scale: None (``c = 1``), ``"sqrt"`` (``c = 1/√H``) or a number.

    Raises:
        ShapeError: if ``q``, ``k`` are not 3-D with equal N and H.
        ConfigError: for a bad ``scale``.

    Reference: Luong, Pham & Manning (2015), *Effective Approaches to Attention-based Neural Machine
    Translation*, eq. 8.
    """
    q, k = as_tensor(q), as_tensor(k)
    _check_qk("dot_score", q, k)
    return DotScore(_scale("dot_score", scale, q.shape[2])).apply(q, k)


def general_score(q, k, W) -> Tensor:
    """Bilinear ("general") scores ``e_ts = q_t W k_sᵀ`` (Luong et al. 2015), composed as ``dot_score(q W, k)``.

    Shapes: ``q (N, Tq, H)``, ``W (H, Hk)``, ``k (N, S, Hk)`` -> ``e (N, Tq, S)``. dtype: the inputs'.

    Raises:
        ShapeError: if the shapes do not chain.

    Reference: Luong, Pham & Manning (2015), eq. 8 ("general").
    """
    q, k, W = as_tensor(q), as_tensor(k), as_tensor(W)
    _check_qk("general_score", q, k, same_features=False)
    require_float("general_score", "W", W)
    if W.shape != (q.shape[2], k.shape[2]):
        raise ShapeError(f"general_score: W must be (H, Hk) == {(q.shape[2], k.shape[2])}, got {W.shape}")
    return dot_score(matmul(q, W), k)  # (N, Tq, Hk) · (N, S, Hk)


def additive_score(q, k, W_q, W_k, v) -> Tensor:
    """Additive (Bahdanau, "concat") scores ``e_ts = vᵀ tanh(q_t W_q + k_s W_k)``, fused.

    Backward: with ``u = tanh(q_t W_q + k_s W_k)`` and ``g = grad_e_ts v (1 - u²)``:
    ``grad_v = Σ grad_e u``, ``grad_q_t = Σ_s g W_qᵀ``, ``grad_k_s = Σ_t g W_kᵀ``,
    ``grad_W_q = Σ q_tᵀ Σ_s g``, ``grad_W_k = Σ k_sᵀ Σ_t g``.

    Shapes: ``q (N, Tq, H)``, ``k (N, S, Hk)``, ``W_q (H, A)``, ``W_k (Hk, A)``, ``v (A,)`` ->
    ``e (N, Tq, S)``. Memory: the ``(N, Tq, S, A)`` tanh is kept for backward. dtype: the inputs'.

    Raises:
        ShapeError: if the shapes do not chain.

    Reference: Bahdanau, Cho & Bengio (2015), *Neural Machine Translation by Jointly Learning to Align and
    Translate*, appendix A.1.2 (``e_ij = v_aᵀ tanh(W_a s_{i-1} + U_a h_j)``, no bias, as here).
    """
    q, k, W_q, W_k, v = map(as_tensor, (q, k, W_q, W_k, v))
    _check_qk("additive_score", q, k, same_features=False)
    for arg, t in (("W_q", W_q), ("W_k", W_k), ("v", v)):
        require_float("additive_score", arg, t)
    if v.ndim != 1:
        raise ShapeError(f"additive_score: v must be (A,), got {v.shape}")
    A = v.shape[0]
    if W_q.shape != (q.shape[2], A):
        raise ShapeError(f"additive_score: W_q must be (H, A) == {(q.shape[2], A)}, got {W_q.shape}")
    if W_k.shape != (k.shape[2], A):
        raise ShapeError(f"additive_score: W_k must be (Hk, A) == {(k.shape[2], A)}, got {W_k.shape}")
    return AdditiveScore().apply(q, k, W_q, W_k, v)


def context_vectors(weights, values) -> Tensor:
    """Context vectors ``c_t = Σ_s a_ts v_s``: the attention-weighted average of the values, ``a @ v``.

    Shapes: ``weights (N, Tq, S)``, ``values (N, S, Hv)`` -> ``c (N, Tq, Hv)``. dtype: the inputs'.

    Raises:
        ShapeError: if the shapes do not chain.
    """
    a, v = as_tensor(weights), as_tensor(values)
    _check_3d("context_vectors", "weights", a)
    _check_3d("context_vectors", "values", v)
    if v.shape[:2] != (a.shape[0], a.shape[2]):
        raise ShapeError(f"context_vectors: values must be (N, S, Hv) with (N, S) == {(a.shape[0], a.shape[2])}, "
                         f"got {v.shape}")
    return matmul(a, v)


def dot_attention(q, k, v, mask=None, scale=None) -> tuple[Tensor, Tensor]:
    """Dot-product attention in one node: scores, masked softmax and context vectors.

    .. math::

        e = c\\, q k^T, \\quad a = \\mathrm{softmax}_{\\text{mask}}(e), \\quad \\text{context} = a v

    Backward (by hand): ``grad_v = aᵀ grad_c``; ``grad_a += grad_c vᵀ``;
    ``grad_e = c · a (grad_a - Σ_s grad_a a)``; ``grad_q = grad_e k``; ``grad_k = grad_eᵀ q``.
    Equal to ``context_vectors(masked_softmax(dot_score(q, k, scale), mask), v)`` (a test checks),
    with one graph node instead of three.

    Shapes: ``q (N, Tq, H)``, ``k (N, S, H)``, ``v (N, S, Hv)``, ``mask`` bool ``(N, S)`` (key padding)
    or broadcastable to ``(N, Tq, S)``, True = may attend -> ``(context (N, Tq, Hv), weights (N, Tq, S))``.
    A query with every position masked gets zero weights and a zero context. dtype: the inputs'.

    Args:
        scale: None (1), ``"sqrt"`` (``1/√H``, Vaswani et al. 2017) or a number.

    Raises:
        ShapeError: for shapes that do not chain or a mask that does not broadcast.
        DTypeError: for a non-bool mask.
        ConfigError: for a bad ``scale``.

    Reference: Luong et al. (2015) eq. 8 ("dot"); the same as PyTorch's
    ``scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=c)`` where no row is fully masked.
    """
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    _check_qk("dot_attention", q, k)
    _check_3d("dot_attention", "v", v)
    if v.shape[:2] != k.shape[:2]:
        raise ShapeError(f"dot_attention: v must be (N, S, Hv) with (N, S) == {k.shape[:2]}, got {v.shape}")
    mask = _check_mask("dot_attention", mask, q.shape[0], q.shape[1], k.shape[1], get_array_module(q))
    return DotAttention(mask, _scale("dot_attention", scale, q.shape[2])).apply(q, k, v)
