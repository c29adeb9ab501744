"""Negative sampling (Mikolov et al. 2013): a V-way softmax replaced by k + 1 binary decisions.

Predicting the target word among all V words needs ``h @ W_outᵀ`` over the
whole vocabulary. Negative sampling asks instead "is this the word that
occurred?" for the true target (label 1) and for k words drawn from the noise
distribution ``P(w) ∝ count(w)^0.75`` (label 0), each a sigmoid on one dot
product, so a step touches k + 1 rows of ``W_out`` instead of V::

    ℓ = -log σ(h · w_target) - Σ_{j=1..k} log σ(-h · w_neg_j)

:class:`glassnet.text.UnigramSampler` draws the negatives (sampling is not
differentiable, so it lives in :mod:`glassnet.text.sampling`).
"""

from __future__ import annotations

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional.activation import require_float, sigmoid_array
from glassnet.functional.loss import _reduce, _spread

__all__ = ["negative_sampling_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def negative_sampling_scores(h, W_rows):
    """Scores ``s[n, j] = h[n] · W_rows[n, j]`` of the k + 1 candidates: ``(N, E), (N, 1+k, E) -> (N, 1+k)``."""
    return (W_rows @ h[:, :, None])[:, :, 0]  # (N, 1+k, E) @ (N, E, 1) -> (N, 1+k)


def negative_sampling_losses(xp, s):
    """Per-example loss ``softplus(-s_0) + Σ_j softplus(s_j)`` from the scores ``(N, 1+k)`` -> ``(N,)``.

    ``-log σ(s) = softplus(-s) = log(1 + e^{-s})`` is computed as ``logaddexp(0, -s)``, finite for any finite s.
    """
    sign = xp.ones(s.shape[1], dtype=s.dtype)
    sign[1:] = -1  # label 1 for the target, 0 for the negatives: -log σ(sign · s)
    return xp.logaddexp(0, -sign * s).sum(axis=1)


def negative_sampling_grad_scores(s):
    """``dℓ/ds = σ(s) - y`` with ``y = (1, 0, …, 0)`` per row: ``(N, 1+k) -> (N, 1+k)``."""
    g = sigmoid_array(s)
    g[:, 0] -= 1
    return g


class NegativeSamplingLoss(Function):
    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, h, W, targets, negatives):
        xp = self.xp
        # host ids (as embedding takes them) go to W's device first
        idx = xp.concatenate([xp.asarray(targets)[:, None], xp.asarray(negatives)], axis=1)  # (N, 1+k): target first
        rows = W[idx]  # (N, 1+k, E)
        s = negative_sampling_scores(h, rows)  # (N, 1+k)
        self.W_shape = W.shape
        self.save_for_backward(h, rows, idx, s)
        l = negative_sampling_losses(xp, s)  # (N,)
        return _reduce(xp, l, self.reduction, l.size)  # the losses' one reduction: an empty mean is 0

    # ℓ = Σ_j softplus(∓ h·w_j): dℓ/ds_j = σ(s_j) - y_j, grad_h = Σ_j (dℓ/ds_j) w_j, grad_w_j = (dℓ/ds_j) h
    def backward(self, grad_y):
        h, rows, idx, s = self.saved
        xp = self.xp
        N = h.shape[0]
        g = _spread(xp, grad_y, (N,), self.reduction, N)  # (N,)
        ds = negative_sampling_grad_scores(s) * g[:, None]  # (N, 1+k)
        grad_h = (ds[:, None, :] @ rows)[:, 0, :] if self.needs_input_grad[0] else None  # (N, 1, 1+k) @ (N, 1+k, E)
        grad_W = None
        if self.needs_input_grad[1]:
            grad_W = xp.zeros(self.W_shape, dtype=h.dtype)  # (V, E)
            # a word can be a target and a negative, or drawn twice: the rows must add up (np.add.at)
            xp.add.at(grad_W, idx.ravel(), (ds[:, :, None] * h[:, None, :]).reshape(-1, h.shape[1]))
        return grad_h, grad_W, None, None


def negative_sampling_loss(h, W_out, targets, negatives, reduction: str = "mean") -> Tensor:
    """Negative-sampling loss: sigmoid cross-entropy on the true target and k sampled negatives, fused.

    .. math::

        \\ell_n = -\\log \\sigma(h_n \\cdot w_{t_n}) - \\sum_{j=1}^{k} \\log \\sigma(-h_n \\cdot w_{m_{nj}})

    with ``w_v = W_out[v]``; ``reduction`` averages (``"mean"``), adds (``"sum"``) or keeps (``"none"``) the
    ``ℓ_n``. Computed as ``softplus`` (``logaddexp(0, ·)``), finite for any finite score.

    Backward: ``δ_j = σ(s_j) - y_j`` (``y = 1`` for the target, 0 for negatives);
    ``grad_h_n = Σ_j δ_nj w_j``; ``grad_W_out[v] = Σ_{(n,j): idx_nj = v} δ_nj h_n`` (repeats add up).

    Shapes: ``h (N, E)`` (the centre word's input embedding for skip-gram, the context average for CBOW),
    ``W_out (V, E)``, ``targets (N,)`` int, ``negatives (N, k)`` int -> ``()`` or ``(N,)`` for "none".
    dtype: that of ``h`` and ``W_out`` (equal).

    Raises:
        ShapeError: if shapes disagree or an index is outside ``[0, V)``.
        DTypeError: for non-float ``h``/``W_out`` or non-integer indices.
        ConfigError: for an unknown ``reduction``.

    Reference: Mikolov, Sutskever, Chen, Corrado & Dean (2013), *Distributed Representations of Words and
    Phrases and their Compositionality*, eq. 4. Unlike the paper's per-pair SGD, gradients here are for a
    whole batch; duplicates of a row within the batch add up.
    """
    h, W, t, neg = as_tensor(h), as_tensor(W_out), as_tensor(targets), as_tensor(negatives)
    name = "negative_sampling_loss"
    require_float(name, "h", h)
    require_float(name, "W_out", W)
    if reduction not in _REDUCTIONS:
        raise ConfigError(f"{name}: reduction must be one of {', '.join(_REDUCTIONS)}, got {reduction!r}")
    if h.ndim != 2:
        raise ShapeError(f"{name}: h must be (N, E), got {h.shape}")
    if W.ndim != 2 or W.shape[1] != h.shape[1]:
        raise ShapeError(f"{name}: W_out must be (V, E) with E == {h.shape[1]}, got {W.shape}")
    for arg, x in (("targets", t), ("negatives", neg)):
        if x.dtype.kind not in "iu":
            raise DTypeError(f"{name}: {arg} must be an integer array, got dtype {x.dtype}")
    N, V = h.shape[0], W.shape[0]
    if t.shape != (N,):
        raise ShapeError(f"{name}: targets must be (N,) with N == {N}, got {t.shape}")
    if neg.ndim != 2 or neg.shape[0] != N:
        raise ShapeError(f"{name}: negatives must be (N, k) with N == {N}, got {neg.shape}")
    for arg, x in (("targets", t), ("negatives", neg)):
        if x.size and (x.data.min() < 0 or x.data.max() >= V):
            raise ShapeError(f"{name}: {arg} must be in [0, V) with V == {V}")
    return NegativeSamplingLoss(reduction).apply(h, W, t, neg)
