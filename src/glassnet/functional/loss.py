"""Losses: mean_squared_error, softmax_cross_entropy, binary_cross_entropy_with_logits, gaussian_kl_divergence.

Each loss is one fused :class:`~glassnet.autograd.Function`: forward computes
the elementwise loss ``l`` and reduces it, backward multiplies the elementwise
derivative ``dl/dx`` by the upstream gradient spread back over the reduction.
Fusing matters for the two losses on logits: their derivatives
(``softmax - onehot`` and ``σ(x) - t``) are simpler and better conditioned
than the chain rule through a separate softmax/sigmoid and log.

Reductions: ``"none"`` keeps ``l``; ``"sum"`` adds it up; ``"mean"`` divides
the sum by the number of counted elements. A mean over zero elements (an
empty batch, or every label equal to ``ignore_index``) is defined as 0 with a
zero gradient rather than PyTorch's NaN, so a fully padded batch cannot poison
training.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_int, check_number
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional.activation import require_float

__all__ = ["mean_squared_error", "softmax_cross_entropy", "binary_cross_entropy_with_logits", "gaussian_kl_divergence",
           "huber_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name: str, reduction) -> str:
    if reduction not in _REDUCTIONS:
        raise ConfigError(f"{name}: reduction must be one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction


def _check_same_shape(name: str, a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ShapeError(f"{name}: {b_name} must have the shape of {a_name} {a.shape}, got {b.shape}")


def _reduce(xp, l, reduction: str, count: int):
    """Reduce the elementwise loss ``l``; ``count`` is the divisor of ``"mean"``."""
    if reduction == "none":
        return l
    total = xp.asarray(l.sum(), dtype=l.dtype)
    if reduction == "sum":
        return total
    # an empty mean is 0, not 0/0 (see the module docstring)
    return total / count if count else xp.zeros((), dtype=l.dtype)


def _spread(xp, grad_y, shape, reduction: str, count: int):
    """dL/dl for every element: the backward of :func:`_reduce` (a new array of ``shape``)."""
    if reduction == "none":
        return grad_y
    # sum: every element gets grad_y; mean: grad_y / count
    scale = (1 / count if count else 0) if reduction == "mean" else 1
    return xp.broadcast_to(grad_y * scale, shape)


class MeanSquaredError(Function):
    def forward(self, y, t):
        diff = y - t
        self.save_for_backward(diff)
        return _reduce(self.xp, diff * diff, "mean", diff.size)

    # l = (y - t)²: dl/dy = 2 (y - t), dl/dt = -2 (y - t)
    def backward(self, grad_y):
        (diff,) = self.saved
        grad = _spread(self.xp, grad_y, diff.shape, "mean", diff.size) * 2 * diff
        return grad, -grad


class SoftmaxCrossEntropy(Function):
    def __init__(self, ignore_index: int, reduction: str, label_smoothing: float = 0.0):
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.eps = label_smoothing

    def forward(self, logits, labels):
        xp = self.xp
        valid = labels != self.ignore_index  # (*S,)
        safe = xp.where(valid, labels, 0)  # any in-range class for ignored positions
        if logits.shape[-1] == 0:  # no classes (every label ignored): nothing to normalise
            p, nll = logits.copy(), xp.zeros(labels.shape, dtype=logits.dtype)
        else:
            # log softmax(x)[k] = s_k - log Σ_j e^{s_j} with s = x - max x (every exponent <= 0, the sum >= 1).
            # One pass each: s, e^s in place, its row sum, p = e^s / Σ in place; only the label's s is read,
            # so a -inf logit on another class (masked vocabulary) leaves the loss finite
            m = logits.max(axis=-1, keepdims=True)  # (*S, 1)
            dead = ~(m[..., 0] > -xp.inf)  # rows whose every logit is -inf (a fully masked, ignored row)
            any_dead = bool(dead.any())
            if any_dead:  # shift them by 0, not by -inf; their softmax (0/0) is zeroed below
                m = xp.where(dead[..., None], 0, m)
            with np.errstate(invalid="ignore", divide="ignore"):  # only a dead row makes inf - inf or 0/0
                p = logits - m  # s   (*S, K)
                s_label = xp.take_along_axis(p, safe[..., None], axis=-1)[..., 0]  # (*S,)
                s_mean = p.mean(axis=-1) if self.eps else None  # (1/K) Σ_k s_k, for the smoothed target
                xp.exp(p, out=p)
                total = p.sum(axis=-1, keepdims=True)  # (*S, 1)
                log_total = xp.log(total[..., 0])
                nll = log_total - s_label  # l = -log p[label]
                if self.eps:  # l = (1-ε)(-log p[label]) + ε (1/K) Σ_k (-log p_k)
                    nll = (1 - self.eps) * nll + self.eps * (log_total - s_mean)
                p /= total  # softmax(x)
            if any_dead:
                p[dead] = 0  # no probability, no gradient (the row is ignored, or its loss is not finite anyway)
        nll = xp.where(valid, nll, 0)
        self.count = int(valid.sum())
        self.save_for_backward(p, safe, valid)
        return _reduce(xp, nll, self.reduction, self.count)

    # l = -Σ_k q_k log softmax(x)_k with q = (1-ε) onehot(label) + ε/K: dl/dx = softmax(x) - q
    # (ε = 0: softmax(x) - onehot(label)); 0 for ignored positions.
    # Where a logit is -inf (and ε = 0), softmax is exactly 0, so its gradient is exactly 0.
    def backward(self, grad_y):
        xp = self.xp
        p, safe, valid = self.saved
        coef = _spread(xp, grad_y, valid.shape, self.reduction, self.count) * valid  # (*S,)
        q_rest = self.eps / p.shape[-1] if p.shape[-1] else 0.0  # ε/K, every class's share of q
        grad = (p - q_rest if self.eps else p) * coef[..., None]  # (softmax(x) - ε/K) · dL/dl   (*S, K)
        if grad.size:  # the label's entry: (p - ε/K - (1-ε)) · dL/dl, written into one element per row
            rows, k = xp.arange(safe.size), safe.reshape(-1)
            grad2, p2 = grad.reshape(-1, grad.shape[-1]), p.reshape(-1, p.shape[-1])
            grad2[rows, k] = (p2[rows, k] - q_rest - (1 - self.eps)) * coef.reshape(-1)
        return grad, None


class BinaryCrossEntropyWithLogits(Function):
    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x, t):
        xp = self.xp
        # -[t log σ(x) + (1 - t) log(1 - σ(x))] rewritten as max(x, 0) - x t + log(1 + e^-|x|):
        # the exponent is never positive (no overflow) and log1p keeps precision
        # when e^-|x| is tiny, where log(σ(x)) of a rounded σ would give log 0 = -inf.
        z = xp.exp(-xp.abs(x))  # e^-|x|, kept: backward's σ(x) is built from it
        self.save_for_backward(x, t, z)
        l = xp.maximum(x, 0) - x * t + xp.log1p(z)
        return _reduce(xp, l, self.reduction, l.size)

    # dl/dx = σ(x) - t, dl/dt = -x;  σ(x) = 1 / (1 + z) for x >= 0, z / (1 + z) for x < 0 (as sigmoid_array)
    def backward(self, grad_y):
        x, t, z = self.saved
        xp = self.xp
        g = _spread(xp, grad_y, x.shape, self.reduction, x.size)
        grad_x = g * (xp.where(x >= 0, 1, z) / (1 + z) - t)
        grad_t = -g * x if self.needs_input_grad[1] else None
        return grad_x, grad_t


class GaussianKLDivergence(Function):
    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, mean, ln_var):
        xp = self.xp
        var = xp.exp(ln_var)
        self.save_for_backward(mean, var)
        l = 0.5 * (mean * mean + var - ln_var - 1)
        return _reduce(xp, l, self.reduction, l.size)

    # l = ½(μ² + e^v - v - 1): dl/dμ = μ, dl/dv = ½(e^v - 1)
    def backward(self, grad_y):
        mean, var = self.saved
        g = _spread(self.xp, grad_y, mean.shape, self.reduction, mean.size)
        return g * mean, g * (0.5 * (var - 1))


def mean_squared_error(y, t) -> Tensor:
    """Mean squared error ``L = (1/n) Σ_i (y_i - t_i)²`` over all ``n`` elements.

    Backward: ``grad_y = grad_L * 2 (y - t) / n``, ``grad_t = -grad_y``.

    Shapes: ``y (*S)`` and ``t (*S)`` (the same shape, no broadcasting, so a
    ``(N,)`` target against ``(N, 1)`` predictions is caught) -> ``L ()``.
    dtype: that of ``y``; ``t`` must be float of the same dtype.
    Same as ``torch.nn.functional.mse_loss`` (reduction ``"mean"``), except that
    an empty input gives 0 instead of NaN.

    Raises:
        ShapeError: if the shapes differ.
        DTypeError: if either is not float, or float32 meets float64.
    """
    y, t = as_tensor(y), as_tensor(t)
    require_float("mean_squared_error", "y", y)
    require_float("mean_squared_error", "t", t)
    _check_same_shape("mean_squared_error", "y", y, "t", t)
    return MeanSquaredError().apply(y, t)


def softmax_cross_entropy(logits, labels, ignore_index: int = -100, reduction: str = "mean",
                          label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of integer labels under a softmax over the last axis, fused.

    Formula, for each position ``s`` with ``labels[s] != ignore_index``::

        l[s] = -log softmax(logits[s])[labels[s]]
             = -logits[s, y] + m + log Σ_k e^(logits[s, k] - m),   m = max_k logits[s, k]

    and ``l[s] = 0`` at ignored positions. ``reduction="mean"`` divides the sum
    by the number of non-ignored positions (as PyTorch), ``"sum"`` adds them,
    ``"none"`` returns ``l``.

    Label smoothing (Szegedy et al. 2016, "Rethinking the Inception Architecture", §7; PyTorch's
    ``label_smoothing``): with ``ε > 0`` the target is ``q = (1 - ε) onehot(y) + ε/K`` instead of the
    one-hot, i.e.::

        l[s] = (1 - ε) (-log p[s, y]) + ε (1/K) Σ_k (-log p[s, k])

    (``-log p`` of a ``-inf`` logit is ``inf``, so with ``ε > 0`` a counted position's logits must be finite;
    ignored positions may hold anything.)

    Backward (one step, no separate softmax/log graph)::

        grad_logits[s] = (softmax(logits[s]) - q[s]) * grad_L / count        (q = onehot for ε = 0)

    (``count`` = number of non-ignored positions for ``"mean"``, 1 for
    ``"sum"``; per position for ``"none"``), and 0 at ignored positions. A
    ``-inf`` logit on a wrong class gives a finite loss and exactly zero
    gradient there (softmax is exactly 0).

    Shapes: ``logits (N, K)`` with ``labels (N,)``, or ``logits (N, T, K)`` with
    ``labels (N, T)`` (generally ``(*S, K)`` with ``(*S,)``: the class axis is
    last, unlike PyTorch's ``(N, K, T)``). Output ``()`` for ``"mean"``/``"sum"``,
    ``(*S,)`` for ``"none"``.

    dtype: ``logits`` float32/float64 (the output's dtype); ``labels`` any integer dtype.

    Deviations from ``torch.nn.functional.cross_entropy``: when every label is
    ignored (or the batch is empty) the mean is 0 with zero gradient, not NaN;
    an ignored position whose logits are all ``-inf`` (a fully masked row) gets
    zero gradient, not NaN (a counted one has a NaN loss, as in torch).

    Raises:
        ShapeError: if ``logits`` has no class axis, if ``labels.shape`` is not
            ``logits.shape[:-1]``, or if a label is outside ``[0, K)`` and not ``ignore_index``.
        DTypeError: if ``logits`` is not float or ``labels`` not integer.
        ConfigError: for an unknown ``reduction``, a non-integer ``ignore_index`` or ``label_smoothing``
            outside ``[0, 1]``.

    Reference: Bishop, *Pattern Recognition and Machine Learning* (2006), §4.3.4
    (softmax with cross-entropy: gradient ``y_k - t_k``).
    """
    name = "softmax_cross_entropy"
    logits = as_tensor(logits)
    # labels from a host loader go to the logits' device (a copy there; none when they are already on it)
    labels = as_tensor(get_array_module(logits).asarray(labels.data if isinstance(labels, Tensor) else labels))
    require_float(name, "logits", logits)
    if labels.dtype.kind not in "iu":
        raise DTypeError(f"{name}: labels must be an integer array of class indices, got dtype {labels.dtype}")
    if logits.ndim == 0 or labels.shape != logits.shape[:-1]:
        raise ShapeError(
            f"{name}: labels must have shape logits.shape[:-1] (logits (N, K) with labels (N,), "
            f"or (N, T, K) with (N, T)), got logits {logits.shape} and labels {labels.shape}"
        )
    ignore_index = check_int(ignore_index, "ignore_index", name)
    k = logits.shape[-1]
    lab = labels.data
    bad = (lab != ignore_index) & ((lab < 0) | (lab >= k))
    if bad.any():
        raise ShapeError(
            f"{name}: labels must be in [0, K) with K == {k} (or ignore_index {ignore_index}), "
            f"got {int(lab[bad].ravel()[0])}"
        )
    _check_reduction(name, reduction)
    label_smoothing = check_number(label_smoothing, "label_smoothing", name, min=0.0, max=1.0)
    return SoftmaxCrossEntropy(ignore_index, reduction, label_smoothing).apply(logits, labels)


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of targets in [0, 1] under a sigmoid of the logits, fused.

    Formula (elementwise, ``x`` = logits, ``t`` = targets)::

        l = -[t log σ(x) + (1 - t) log(1 - σ(x))] = max(x, 0) - x t + log(1 + e^-|x|)

    The right-hand form never exponentiates a positive number and is finite
    for any finite ``x`` (``log σ(x)`` of a rounded σ would be ``-inf`` already
    at ``x ≈ -40``). Reduction ``"mean"`` over all elements, ``"sum"``, or ``"none"``.

    Backward: ``grad_x = grad_l * (σ(x) - t)``, ``grad_t = -grad_l * x``.

    Shapes: ``logits (*S)`` and ``targets (*S)`` (the same shape) -> ``()`` or
    ``(*S,)`` for ``"none"``. dtype: that of ``logits``; ``targets`` float of the same dtype.
    Same as ``torch.nn.functional.binary_cross_entropy_with_logits`` (no
    ``weight``/``pos_weight``), except that an empty mean is 0.

    Raises:
        ShapeError: if the shapes differ.
        DTypeError: if either is not float, or float32 meets float64.
        ConfigError: for an unknown ``reduction``.
    """
    name = "binary_cross_entropy_with_logits"
    logits, targets = as_tensor(logits), as_tensor(targets)
    require_float(name, "logits", logits)
    require_float(name, "targets", targets)
    _check_same_shape(name, "logits", logits, "targets", targets)
    _check_reduction(name, reduction)
    return BinaryCrossEntropyWithLogits(reduction).apply(logits, targets)


def gaussian_kl_divergence(mean, ln_var, reduction: str = "sum") -> Tensor:
    """KL divergence of a diagonal Gaussian from the standard normal, ``KL(N(μ, e^v) || N(0, I))``.

    Formula (elementwise, ``μ`` = mean, ``v`` = ln_var = log σ²)::

        l = ½ (μ² + e^v - v - 1)

    which is the closed form ``-½ Σ (1 + log σ² - μ² - σ²)`` of Kingma & Welling
    (2014), *Auto-Encoding Variational Bayes*, appendix B. Reduction ``"sum"``
    (default, the KL of the whole batch), ``"mean"`` over all elements, or ``"none"``.
    Parameterising by ``log σ²`` keeps ``σ² = e^v`` positive without a constraint.

    Backward: ``grad_μ = grad_l * μ``, ``grad_v = grad_l * ½ (e^v - 1)``.

    Shapes: ``mean (*S)`` and ``ln_var (*S)``, e.g. ``(N, Z)`` latent codes ->
    ``()`` or ``(*S,)`` for ``"none"``. dtype: that of ``mean``.
    Same as Chainer's ``F.gaussian_kl_divergence``.

    Raises:
        ShapeError: if the shapes differ.
        DTypeError: if either is not float, or float32 meets float64.
        ConfigError: for an unknown ``reduction``.
    """
    name = "gaussian_kl_divergence"
    mean, ln_var = as_tensor(mean), as_tensor(ln_var)
    require_float(name, "mean", mean)
    require_float(name, "ln_var", ln_var)
    _check_same_shape(name, "mean", mean, "ln_var", ln_var)
    _check_reduction(name, reduction)
    return GaussianKLDivergence(reduction).apply(mean, ln_var)


def huber_loss(x, y, delta: float = 1.0) -> Tensor:
    """Mean Huber loss of ``d = x - y``: ``d²/2`` for ``|d| <= delta``, ``delta (|d| - delta/2)`` beyond.

    Built from differentiable pieces: with ``c = clip(d, -delta, delta)``,
    ``huber(d) = c²/2 + delta * sign(d) * (d - c)``; the gradient is ``d`` inside and
    ``delta * sign(d)`` outside (``sign`` is a constant). Equals PyTorch's
    ``torch.nn.functional.huber_loss(x, y, delta=delta)``.

    Args:
        x, y: Tensors or arrays of one shape (y usually a constant target).
        delta: > 0.

    Raises:
        ShapeError: for different shapes; ConfigError for delta <= 0.
    """
    if not delta > 0:
        raise ConfigError(f"huber_loss: delta must be > 0, got {delta}")
    x_shape, y_shape = (tuple(a.shape) if hasattr(a, "shape") else np.shape(a) for a in (x, y))
    if x_shape != y_shape:
        raise ShapeError(f"huber_loss: x and y must have one shape, got {x_shape} and {y_shape}")
    from glassnet.functional.arithmetic import sub
    from glassnet.functional.reduction import mean
    from glassnet.functional.selection import clip

    d = sub(x, y)
    c = clip(d, -delta, delta)
    sign = get_array_module(d.data).sign(d.data)
    return mean(0.5 * c * c + (delta * sign) * (d - c))
