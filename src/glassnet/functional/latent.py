"""Latent-variable ops of the VAE: the reparameterisation trick and the negative ELBO.

* :func:`reparameterize` draws ``z = μ + σ ⊙ ε`` with ``σ = exp(½ log σ²)`` and
  the noise ``ε ~ N(0, I)`` given by the caller, so the sample is a
  differentiable function of ``μ`` and ``log σ²`` (Kingma & Welling 2014, §2.4).
* :func:`vae_loss` is the negative evidence lower bound of a VAE with a
  Bernoulli decoder (logits) and a diagonal Gaussian posterior against the
  standard normal prior, in nats per image.
* :func:`gaussian_kl_divergence_two` is ``KL(N(μ_q, σ_q²) || N(μ_p, σ_p²))`` between two
  diagonal Gaussians, for a learned prior (VHRED's ``p(z|c)``).
"""

from __future__ import annotations

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ConfigError, ShapeError
from glassnet.functional.activation import require_float
from glassnet.functional.loss import (
    _check_reduction,
    _reduce,
    _spread,
    binary_cross_entropy_with_logits,
    gaussian_kl_divergence,
)
from glassnet.functional.reduction import sum as _sum

__all__ = ["reparameterize", "vae_loss", "gaussian_kl_divergence_two"]


class Reparameterize(Function):
    def forward(self, mu, log_var, eps):
        sigma = self.xp.exp(0.5 * log_var)
        self.save_for_backward(sigma, eps)
        return mu + sigma * eps

    # z = μ + e^{v/2} ε: dz/dμ = 1, dz/dv = ½ e^{v/2} ε = ½ σ ε, dz/dε = σ
    def backward(self, grad_z):
        sigma, eps = self.saved
        grad_eps = grad_z * sigma if self.needs_input_grad[2] else None
        return grad_z, grad_z * eps * sigma * 0.5, grad_eps


def reparameterize(mu, log_var, eps) -> Tensor:
    """A sample of ``N(μ, σ²)`` written as ``z = μ + exp(½ log σ²) ⊙ ε`` (the reparameterisation trick).

    The noise ``ε`` (standard normal, drawn by the caller, e.g.
    ``rng.standard_normal(mu.shape)``) enters as a constant, so gradients flow
    into ``μ`` and ``log σ²`` and the estimate of ``∇ E_q[f(z)]`` has low variance.

    Backward: ``grad_μ = grad_z``, ``grad_logvar = grad_z ⊙ ε ⊙ σ / 2``
    (and ``grad_ε = grad_z ⊙ σ`` if ``ε`` asks for one).

    Shapes: ``mu``, ``log_var``, ``eps`` all ``(*S)``, e.g. ``(N, Z)`` -> ``z (*S)``.
    dtype: that of ``mu``.

    Raises:
        ShapeError: if the shapes differ.
        DTypeError: if an input is not float, or float32 meets float64.
    """
    name = "reparameterize"
    mu, log_var, eps = as_tensor(mu), as_tensor(log_var), as_tensor(eps)
    for arg, t in (("mu", mu), ("log_var", log_var), ("eps", eps)):
        require_float(name, arg, t)
        if t.shape != mu.shape:
            raise ShapeError(f"{name}: {arg} must have the shape of mu {mu.shape}, got {t.shape}")
    return Reparameterize().apply(mu, log_var, eps)


def vae_loss(logits, x, mu, log_var, reduction: str = "mean") -> Tensor:
    """The negative ELBO of a Bernoulli-decoder VAE, in nats per image.

    Formula, for image ``n`` with pixels ``x_{n,d}`` in [0, 1], decoder logits
    ``ℓ_{n,d}`` and posterior ``q(z|x_n) = N(μ_n, diag(e^{v_n}))``::

        -ELBO_n = Σ_d BCE(ℓ_{n,d}, x_{n,d}) + Σ_j ½ (μ_{n,j}² + e^{v_{n,j}} - v_{n,j} - 1)
                = -E_q[log p(x_n|z)] + KL(q(z|x_n) || N(0, I))

    (one-sample estimate of the expectation: ``logits`` decode one ``z`` per
    image). Built from :func:`binary_cross_entropy_with_logits` (``"sum"``) and
    :func:`gaussian_kl_divergence`, so the gradients are theirs.

    Args:
        logits: decoder outputs ``(N, *D)``; ``x``: targets of the same shape.
        mu, log_var: posterior parameters ``(N, Z)``.
        reduction: ``"mean"`` over images (default: nats per image), ``"sum"``, or ``"none"`` (``(N,)``).

    Raises:
        ShapeError: if the shapes differ or disagree on ``N``.
        DTypeError: a non-float input.
        ConfigError: for an unknown ``reduction``.
    """
    name = "vae_loss"
    logits, x, mu, log_var = as_tensor(logits), as_tensor(x), as_tensor(mu), as_tensor(log_var)
    if reduction not in ("mean", "sum", "none"):
        raise ConfigError(f"{name}: reduction must be one of 'mean', 'sum', 'none', got {reduction!r}")
    if logits.ndim < 1 or mu.ndim < 1 or logits.shape[0] != mu.shape[0]:
        raise ShapeError(f"{name}: logits {logits.shape} and mu {mu.shape} must share the batch axis N")
    n = logits.shape[0]
    if reduction == "none":
        rec = binary_cross_entropy_with_logits(logits, x, reduction="none")
        kl = gaussian_kl_divergence(mu, log_var, reduction="none")
        return _sum(rec, axis=tuple(range(1, rec.ndim))) + _sum(kl, axis=tuple(range(1, kl.ndim)))
    total = (binary_cross_entropy_with_logits(logits, x, reduction="sum")
             + gaussian_kl_divergence(mu, log_var, reduction="sum"))
    return total * (1.0 / n) if reduction == "mean" and n else total


class GaussianKLDivergenceTwo(Function):
    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, mean_q, ln_var_q, mean_p, ln_var_p):
        xp = self.xp
        inv_var_p = xp.exp(-ln_var_p)  # 1 / σ_p²
        ratio = xp.exp(ln_var_q - ln_var_p)  # σ_q² / σ_p²
        diff = mean_q - mean_p
        d2 = diff * diff * inv_var_p  # (μ_q - μ_p)² / σ_p²
        self.save_for_backward(diff, inv_var_p, ratio, d2)
        l = 0.5 * (ln_var_p - ln_var_q + ratio + d2 - 1)
        return _reduce(xp, l, self.reduction, l.size)

    # l = ½(v_p - v_q + e^{v_q - v_p} + (μ_q - μ_p)² e^{-v_p} - 1):
    # dl/dμ_q = (μ_q - μ_p) / σ_p² = -dl/dμ_p,  dl/dv_q = ½(e^{v_q - v_p} - 1),
    # dl/dv_p = ½(1 - e^{v_q - v_p} - (μ_q - μ_p)² / σ_p²)
    def backward(self, grad_y):
        diff, inv_var_p, ratio, d2 = self.saved
        g = _spread(self.xp, grad_y, diff.shape, self.reduction, diff.size)
        grad_mean_q = g * diff * inv_var_p
        return grad_mean_q, g * (0.5 * (ratio - 1)), -grad_mean_q, g * (0.5 * (1 - ratio - d2))


def gaussian_kl_divergence_two(mean_q, ln_var_q, mean_p, ln_var_p, reduction: str = "sum") -> Tensor:
    """KL divergence between two diagonal Gaussians, ``KL(N(μ_q, e^{v_q}) || N(μ_p, e^{v_p}))``.

    Formula (elementwise, ``v = log σ²``)::

        l = ½ (v_p - v_q + (e^{v_q} + (μ_q - μ_p)²) / e^{v_p} - 1)

    the closed form of ``E_q[log q(z) - log p(z)]`` for one coordinate. With ``μ_p = 0, v_p = 0``
    it is :func:`gaussian_kl_divergence`; it is 0 exactly when ``q == p``. VHRED (Serban et al.
    2017) uses it between the posterior ``q(z|c, r)`` and the learned prior ``p(z|c)``, so both
    sides get gradients. Reduction ``"sum"`` (default), ``"mean"`` over all elements, or ``"none"``.

    Backward: ``grad_μ_q = grad_l (μ_q - μ_p) / σ_p² = -grad_μ_p``,
    ``grad_v_q = grad_l ½ (σ_q²/σ_p² - 1)``,
    ``grad_v_p = grad_l ½ (1 - σ_q²/σ_p² - (μ_q - μ_p)²/σ_p²)``.

    Shapes: all four ``(*S)``, e.g. ``(N, Z)`` -> ``()`` or ``(*S,)`` for ``"none"``.
    dtype: that of ``mean_q``. Same as ``torch.distributions.kl_divergence(Normal(μ_q, σ_q),
    Normal(μ_p, σ_p))`` elementwise.

    Raises:
        ShapeError: if the shapes differ.
        DTypeError: if an input is not float, or float32 meets float64.
        ConfigError: for an unknown ``reduction``.
    """
    name = "gaussian_kl_divergence_two"
    ts = [as_tensor(t) for t in (mean_q, ln_var_q, mean_p, ln_var_p)]
    for arg, t in zip(("mean_q", "ln_var_q", "mean_p", "ln_var_p"), ts):
        require_float(name, arg, t)
        if t.shape != ts[0].shape:
            raise ShapeError(f"{name}: {arg} must have the shape of mean_q {ts[0].shape}, got {t.shape}")
    _check_reduction(name, reduction)
    return GaussianKLDivergenceTwo(reduction).apply(*ts)
