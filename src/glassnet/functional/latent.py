"""Latent-variable ops of the VAE: the reparameterisation trick and the negative ELBO.

* :func:`reparameterize` draws ``z = μ + σ ⊙ ε`` with ``σ = exp(½ log σ²)`` and
  the noise ``ε ~ N(0, I)`` given by the caller, so the sample is a
  differentiable function of ``μ`` and ``log σ²`` (Kingma & Welling 2014, §2.4).
* :func:`vae_loss` is the negative evidence lower bound of a VAE with a
  Bernoulli decoder (logits) and a diagonal Gaussian posterior against the
  standard normal prior, in nats per image.
"""

from __future__ import annotations

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ConfigError, ShapeError
from glassnet.functional.activation import require_float
from glassnet.functional.loss import binary_cross_entropy_with_logits, gaussian_kl_divergence
from glassnet.functional.reduction import sum as _sum

__all__ = ["reparameterize", "vae_loss"]


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
