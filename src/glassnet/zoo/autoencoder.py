"""Autoencoders of the course: an MLP autoencoder (linear or not), its denoising variant, and the VAE.

* :class:`Autoencoder`: encoder ``sizes[0] -> ... -> sizes[-1]`` (the code) and a mirrored
  decoder, trained on the mean squared reconstruction error. With ``activation=None``
  every layer is linear and the optimum spans the top-k principal subspace of the
  data (Baldi & Hornik 1989): the lab's ``autoencoder-vs-pca`` measures that.
* :class:`DenoisingAutoencoder`: the same network fed ``x + N(0, noise_std²)`` and asked
  for the clean ``x`` (Vincent et al. 2008).
* :class:`ConvAutoencoder`: strided convolutions down to a dense code and transposed convolutions
  back up (denoising when ``noise_std > 0``).
* :class:`VAE`: Kingma & Welling (2014) with PyTorch's reference architecture
  ``784 -> 400 -> (μ, log σ²) ∈ R^z``, ``z -> 400 -> 784`` Bernoulli logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.autograd import Tensor, as_tensor
from glassnet.backend import get_array_module, to_numpy
from glassnet.checks import as_generator, check_int, check_number
from glassnet.errors import ConfigError, ShapeError

__all__ = ["Autoencoder", "DenoisingAutoencoder", "ConvAutoencoder", "VAE"]

_ACT = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, None: None}
_LOG_2PI = float(np.log(2 * np.pi))


def _stack(sizes: list[int], activation: str | None, rng, last_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(d_in, d_out, rng=rng))
        if activation is not None and (i < len(sizes) - 2 or last_activation):
            layers.append(_ACT[activation]())
    return nn.Sequential(*layers)


def _flat(x) -> Tensor:
    x = as_tensor(x)
    return F.flatten(x, start_axis=1) if x.ndim > 2 else x


class Autoencoder(nn.Module):
    """MLP autoencoder: ``code = enc(x)``, ``x̂ = dec(code)``, loss ``mean (x̂ - x)²``.

    The encoder is ``Linear -> act`` through ``sizes`` (no activation on the code), the
    decoder the mirror image ``sizes[::-1]`` (no activation on the output, so the
    reconstruction error is comparable with PCA's).

    Shapes: ``x (N, D)`` or images ``(N, C, H, W)`` flattened to ``(N, D)``, ``D = sizes[0]``;
    ``encode -> (N, k)`` with ``k = sizes[-1]``; ``forward -> (N, D)``.

    Args:
        sizes: ``[D, H..., k]``; default ``[784, 256, 2]`` (MNIST).
        activation: ``"relu"``, ``"tanh"``, ``"sigmoid"``, or None for a linear autoencoder.
        rng: Generator or seed for the weights.

    Raises:
        ConfigError: fewer than two sizes, a size < 1, an unknown activation.
    """

    def __init__(self, sizes: Sequence[int] = (784, 256, 2), activation: str | None = "relu", rng: Any = None):
        super().__init__()
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if (not isinstance(sizes, list) or len(sizes) < 2
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes)):
            raise ConfigError(f"{type(self).__name__}: sizes must be at least two ints >= 1 ([D, H..., k]), "
                              f"got {sizes!r}")
        if activation not in _ACT:
            raise ConfigError(f"{type(self).__name__}: activation must be one of 'relu', 'tanh', 'sigmoid' or None, "
                              f"got {activation!r}")
        gen = as_generator(rng, f"{type(self).__name__}: rng")
        self.sizes, self.activation = [int(s) for s in sizes], activation
        self.encoder = _stack(self.sizes, activation, gen, last_activation=False)
        self.decoder = _stack(self.sizes[::-1], activation, gen, last_activation=False)

    def encode(self, x) -> Tensor:
        return self.encoder(_flat(x))  # (N, D) -> (N, k)

    def decode(self, code) -> Tensor:
        return self.decoder(code)  # (N, k) -> (N, D)

    def forward(self, x) -> Tensor:
        return self.decode(self.encode(x))

    def loss(self, x, rng: Any = None) -> Tensor:
        """Mean squared reconstruction error over every pixel of the batch (``rng`` unused here)."""
        x = _flat(x)
        return F.mean_squared_error(self.forward(x), x)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}"


class DenoisingAutoencoder(Autoencoder):
    """:class:`Autoencoder` trained to undo additive Gaussian noise: loss ``mean (dec(enc(x + n)) - x)²``.

    ``n ~ N(0, noise_std²)`` per pixel, drawn from the ``rng`` given to :meth:`loss`.
    ``forward`` / ``encode`` of clean inputs are unchanged (use them at test time).

    Raises:
        ConfigError: as :class:`Autoencoder`, or ``noise_std < 0``.
    """

    def __init__(self, sizes: Sequence[int] = (784, 256, 2), activation: str | None = "relu",
                 noise_std: float = 0.3, rng: Any = None):
        super().__init__(sizes, activation, rng)
        self.noise_std = check_number(noise_std, "noise_std", "DenoisingAutoencoder", min=0.0)

    def corrupt(self, x, rng: Any) -> np.ndarray:
        x = _flat(x).data
        noise = as_generator(rng, "DenoisingAutoencoder: rng").standard_normal(x.shape) * self.noise_std
        # the noise is drawn on the host, so every device sees the same numbers
        return (x + get_array_module(x).asarray(noise)).astype(x.dtype)

    def loss(self, x, rng: Any = None) -> Tensor:
        x = _flat(x)
        return F.mean_squared_error(self.forward(self.corrupt(x, rng)), x)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", noise_std={self.noise_std}"


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder: stride-2 convolutions to a dense code, transposed convolutions back.

    Encoder: ``Conv2d(C -> w_1, 3, stride 2, padding 1) -> ReLU -> ... -> Conv2d(.. -> w_L) -> ReLU ->
    flatten -> Linear(w_L·s² -> k)``, halving the side ``L`` times (``s = image_size / 2^L``); decoder the
    mirror: ``Linear(k -> w_L·s²) -> ReLU -> unflatten -> ConvTranspose2d(w_L -> w_{L-1}, 3, stride 2,
    padding 1, output_padding 1) -> ReLU -> ... -> ConvTranspose2d(w_1 -> C)``, doubling the side back. No
    activation on the output (the loss is the mean squared error, as :class:`Autoencoder`'s). With
    ``noise_std > 0`` it is a denoising autoencoder: :meth:`loss` encodes ``x + N(0, noise_std²)`` and
    scores the reconstruction against the clean ``x`` (Vincent et al. 2008).

    Shapes: ``x (N, C, H, W)`` with ``H = W = image_size`` -> ``encode (N, k)`` -> ``forward (N, C, H, W)``.

    Args:
        in_channels: C. image_size: H = W, divisible by ``2^len(widths)`` (28 with two widths: 28 -> 14 -> 7).
        widths: channels after each stride-2 convolution. code: k. noise_std: the denoising noise (0: none).
        rng: Generator or seed for the weights.

    Raises:
        ConfigError: sizes < 1, no widths, an image size the strides do not divide, ``noise_std < 0``.
        ShapeError: an input that is not ``(N, C, image_size, image_size)``.

    Reference: Masci et al. 2011, "Stacked convolutional auto-encoders"; the transposed convolutions'
    ``output_padding = 1`` makes each one double the side exactly, as ``torch.nn.ConvTranspose2d`` documents.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, widths: Sequence[int] = (16, 32),
                 code: int = 16, noise_std: float = 0.0, rng: Any = None):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = check_int(in_channels, "in_channels", owner, min=1)
        self.image_size = check_int(image_size, "image_size", owner, min=1)
        self.code = check_int(code, "code", owner, min=1)
        widths = list(widths) if isinstance(widths, (list, tuple)) else widths
        if not isinstance(widths, list) or not widths:
            raise ConfigError(f"{owner}: widths must be a non-empty list of ints >= 1, got {widths!r}")
        self.widths = [check_int(w, "widths", owner, min=1) for w in widths]
        if self.image_size % 2 ** len(self.widths):
            raise ConfigError(f"{owner}: image_size {self.image_size} must be divisible by 2^{len(self.widths)} "
                              f"(one halving per width)")
        self.noise_std = check_number(noise_std, "noise_std", owner, min=0.0)
        gen = as_generator(rng, f"{owner}: rng")
        side = self.image_size // 2 ** len(self.widths)
        down, c = [], self.in_channels
        for w in self.widths:
            down += [nn.Conv2d(c, w, 3, stride=2, padding=1, rng=gen), nn.ReLU()]
            c = w
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(c * side * side, self.code, rng=gen))
        up = [nn.Linear(self.code, c * side * side, rng=gen), nn.ReLU(), nn.Unflatten((c, side, side))]
        outs = self.widths[-2::-1] + [self.in_channels]
        for i, w in enumerate(outs):
            up.append(nn.ConvTranspose2d(c, w, 3, stride=2, padding=1, output_padding=1, rng=gen))
            if i < len(outs) - 1:
                up.append(nn.ReLU())
            c = w
        self.decoder = nn.Sequential(*up)

    def _check(self, x) -> Tensor:
        x = as_tensor(x)
        want = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ShapeError(f"{type(self).__name__}: x must be (N, {want[0]}, {want[1]}, {want[2]}), "
                             f"got {tuple(x.shape)}")
        return x

    def encode(self, x) -> Tensor:
        return self.encoder(self._check(x))  # (N, C, H, W) -> (N, k)

    def decode(self, code) -> Tensor:
        return self.decoder(code)  # (N, k) -> (N, C, H, W)

    def forward(self, x) -> Tensor:
        return self.decode(self.encode(x))

    def loss(self, x, rng: Any = None) -> Tensor:
        """Mean squared reconstruction error; with ``noise_std > 0`` of the noisy input's reconstruction."""
        x = self._check(x)
        inputs = x
        if self.noise_std > 0:
            noise = as_generator(rng, f"{type(self).__name__}: rng").standard_normal(x.shape) * self.noise_std
            inputs = (x.data + get_array_module(x.data).asarray(noise)).astype(x.dtype)  # drawn on the host
        return F.mean_squared_error(self.forward(inputs), x)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, image_size={self.image_size}, widths={self.widths}, "
                f"code={self.code}, noise_std={self.noise_std}")


class VAE(nn.Module):
    """Variational autoencoder with a Bernoulli decoder (Kingma & Welling 2014; PyTorch's examples/vae).

    Encoder ``h = relu(x W1 + b1)``, ``μ = h W_μ + b_μ``, ``log σ² = h W_v + b_v``;
    decoder ``logits = relu(z W3 + b3) W4 + b4``; ``p(x|z) = Π_d Bernoulli(x_d; σ(logits_d))``,
    prior ``N(0, I)``. Train on :func:`glassnet.functional.vae_loss` of :meth:`forward`'s outputs.

    Shapes: ``x (N, D)`` or ``(N, 1, 28, 28)``; ``mu, log_var (N, z)``; ``logits (N, D)``.

    Args:
        d: input size (784); hidden: hidden width (400); z: latent size (20); rng: Generator or seed.
    """

    def __init__(self, d: int = 784, hidden: int = 400, z: int = 20, rng: Any = None):
        super().__init__()
        self.d = check_int(d, "d", "VAE", min=1)
        self.hidden = check_int(hidden, "hidden", "VAE", min=1)
        self.z = check_int(z, "z", "VAE", min=1)
        gen = as_generator(rng, "VAE: rng")
        self.enc = nn.Linear(self.d, self.hidden, rng=gen)
        self.mu = nn.Linear(self.hidden, self.z, rng=gen)
        self.log_var = nn.Linear(self.hidden, self.z, rng=gen)
        self.dec = nn.Sequential(nn.Linear(self.z, self.hidden, rng=gen), nn.ReLU(),
                                 nn.Linear(self.hidden, self.d, rng=gen))

    def encode(self, x) -> tuple[Tensor, Tensor]:
        """``(μ, log σ²)`` of ``q(z|x)``, each ``(N, z)``."""
        x = _flat(x)
        if x.shape[-1] != self.d:
            raise ShapeError(f"VAE.encode: x must have {self.d} features, got shape {x.shape}")
        h = F.relu(self.enc(x))
        return self.mu(h), self.log_var(h)

    def decode(self, z) -> Tensor:
        """Bernoulli logits ``(N, D)`` of ``p(x|z)``."""
        return self.dec(z)

    def forward(self, x, rng: Any = None) -> tuple[Tensor, Tensor, Tensor]:
        """``(logits, μ, log σ²)`` for one reparameterised sample ``z = μ + σ ε``, ``ε`` from ``rng``."""
        mu, log_var = self.encode(x)
        eps = as_generator(rng, "VAE.forward: rng").standard_normal(mu.shape).astype(mu.dtype)
        eps = get_array_module(mu).asarray(eps)  # drawn on the host (the same numbers on every device)
        return self.decode(F.reparameterize(mu, log_var, eps)), mu, log_var

    def loss(self, x, rng: Any = None) -> Tensor:
        """The negative ELBO in nats per image (one sample of ``z`` per image)."""
        logits, mu, log_var = self.forward(x, rng)
        return F.vae_loss(logits, _flat(x), mu, log_var)

    def sample(self, n: int, rng: Any = None) -> np.ndarray:
        """``n`` images' Bernoulli means ``σ(decode(z))``, ``z ~ N(0, I)``: ``(n, D)`` in [0, 1]."""
        n = check_int(n, "n", "VAE.sample", min=0)
        z = as_generator(rng, "VAE.sample: rng").standard_normal((n, self.z)).astype(self.enc.W.dtype)
        z = get_array_module(self.enc.W).asarray(z)  # drawn on the host, decoded on the model's device
        with no_grad():
            return to_numpy(F.sigmoid(self.decode(z)).data)

    def iwae_nll(self, x, k: int = 100, rng: Any = None, batch_size: int = 100) -> float:
        """Importance-weighted estimate of ``-log p(x)`` in nats per image (Burda et al. 2016).

        ``-log p(x) ≈ -log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)``, ``z_i ~ q(z|x)``: a lower bound
        on ``log p(x)`` that tightens as ``k`` grows (k = 1 is the ELBO). The log weights are
        summed in float64 and combined with a log-sum-exp, so ``e^{-100}``-sized weights lose nothing.
        """
        k = check_int(k, "k", "VAE.iwae_nll", min=1)
        batch_size = check_int(batch_size, "batch_size", "VAE.iwae_nll", min=1)
        gen = as_generator(rng, "VAE.iwae_nll: rng")
        x = _flat(x).data
        xp = get_array_module(self.enc.W)
        total = 0.0
        with no_grad():
            for lo in range(0, len(x), batch_size):
                xb = x[lo:lo + batch_size]
                mu, log_var = (t.data.astype(np.float64) for t in self.encode(xb))
                eps = xp.asarray(gen.standard_normal((k,) + mu.shape))  # (k, B, z), drawn on the host
                z = mu + xp.exp(0.5 * log_var) * eps
                logits = self.decode(z.reshape(-1, self.z).astype(xb.dtype)).data.astype(np.float64)
                logits = logits.reshape(k, len(xb), self.d)
                xd = xb.astype(np.float64)
                log_px = -(xp.maximum(logits, 0) - logits * xd + xp.log1p(xp.exp(-xp.abs(logits)))).sum(-1)
                log_pz = -0.5 * (z * z + _LOG_2PI).sum(-1)
                log_qz = -0.5 * (eps * eps + log_var + _LOG_2PI).sum(-1)
                log_w = log_px + log_pz - log_qz  # (k, B)
                m = log_w.max(0)
                total += float(-(m + xp.log(xp.exp(log_w - m).mean(0))).sum())
        return total / max(len(x), 1)

    def extra_repr(self) -> str:
        return f"d={self.d}, hidden={self.hidden}, z={self.z}"
