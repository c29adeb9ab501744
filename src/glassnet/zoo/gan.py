"""Generative adversarial networks for 28×28 MNIST: DCGAN and the plain (MLP) GAN, and their losses.

* :class:`DCGANGenerator` / :class:`DCGANDiscriminator`: Radford et al. 2016's all-convolutional
  pair, sized for 28×28: ``z -> 7×7 -> 14×14 -> 28×28`` by transposed convolutions, and
  ``28 -> 14 -> 7 -> one logit`` by strided convolutions.
* :class:`MLPGenerator` / :class:`MLPDiscriminator`: the plain GAN of Goodfellow et al. 2014,
  fully connected, with a similar number of parameters (the lab's ``dcgan`` compares the two).
* :func:`discriminator_loss` and :func:`generator_loss`: the non-saturating GAN losses on logits
  (through :func:`glassnet.functional.binary_cross_entropy_with_logits`).

Images are ``(N, 1, 28, 28)`` in [-1, 1] (the generators end in ``tanh``); ``z (N, Z)`` ~ N(0, I).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.autograd import Tensor, as_tensor
from glassnet.backend import get_array_module
from glassnet.checks import as_generator, check_number, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.nn import init

__all__ = ["DCGANGenerator", "DCGANDiscriminator", "MLPGenerator", "MLPDiscriminator", "dcgan_init",
           "discriminator_loss", "generator_loss", "sample_z"]

IMAGE = (1, 28, 28)


def dcgan_init(model: nn.Module, rng: Any, std: float = 0.02) -> None:
    """Redraw as DCGAN does: conv and transposed-conv weights ``~ N(0, std²)``, BN ``γ ~ N(1, std²)``, ``β = 0``.

    Layers are visited in module order from one Generator, so a seed gives the same model.
    This is the paper's "all weights from a zero-centred Normal with standard deviation 0.02" and
    PyTorch's DCGAN example's ``weights_init`` (which also draws γ around 1).

    Raises:
        ConfigError: a bad ``rng`` or ``std``.
    """
    std = check_number(std, "std", "dcgan_init", min=0.0)
    gen = as_generator(rng, "dcgan_init: rng")
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.W.data[...] = init.normal(m.W.shape, std, gen, dtype=m.W.dtype)
            if m.b is not None:
                m.b.data[...] = 0
        elif isinstance(m, nn.BatchNorm2d) and m.gamma is not None:
            m.gamma.data[...] = init.normal(m.gamma.shape, std, gen, mean=1.0, dtype=m.gamma.dtype)
            m.beta.data[...] = 0


def _check_z(owner: str, z: Any, z_dim: int) -> Tensor:
    z = as_tensor(z)
    if z.ndim != 2 or z.shape[1] != z_dim:
        raise ShapeError(f"{owner}: z must be (N, Z) with Z == {z_dim}, got {z.shape}")
    return z


def _check_images(owner: str, x: Any) -> Tensor:
    x = as_tensor(x)
    if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE:
        raise ShapeError(f"{owner}: x must be (N, 1, 28, 28), got {x.shape}")
    return x


class DCGANGenerator(nn.Module):
    """DCGAN generator for 28×28: ``z -> ConvT(7) -> BN -> ReLU -> ConvT(4, s2) -> BN -> ReLU -> ConvT(4, s2) -> tanh``.

    Layers (``c = width``)::

        z (N, Z) -> (N, Z, 1, 1)
        ConvTranspose2d(Z, 2c, 7)              -> (N, 2c, 7, 7)    BN, ReLU
        ConvTranspose2d(2c, c, 4, s=2, p=1)    -> (N, c, 14, 14)   BN, ReLU
        ConvTranspose2d(c, 1, 4, s=2, p=1)     -> (N, 1, 28, 28)   tanh

    No fully connected hidden layer, no pooling; batch norm everywhere but on the output layer;
    no biases (each is followed by batch norm, or it is the output, as PyTorch's DCGAN example).
    Parameters: ``Z·2c·49 + 2c·c·16 + c·16 + 2·(2c + c)``; 347,072 for ``Z = 100, c = 32``.

    Shapes: ``z (N, Z)`` -> ``x (N, 1, 28, 28)`` in (-1, 1). dtype: float32.
    Init: :func:`dcgan_init` (``W ~ N(0, 0.02²)``, ``γ ~ N(1, 0.02²)``).

    Args:
        z_dim: Z, the size of the noise vector (100 in the paper). width: c. rng: Generator or seed.

    Raises:
        ConfigError: bad sizes or ``rng``. ShapeError: (forward) ``z`` not ``(N, Z)``.

    Reference: Radford, Metz & Chintala 2016, "Unsupervised representation learning with deep
    convolutional generative adversarial networks". Deviation: the paper's generator maps z to 4×4
    for 64×64 images (a projection and reshape); here one 7×7 transposed convolution of the 1×1 z,
    which is the same linear map, written as a convolution.
    """

    def __init__(self, z_dim: int = 100, width: int = 32, rng: Any = None) -> None:
        super().__init__()
        self.z_dim = check_size(z_dim, "z_dim", "DCGANGenerator")
        c = self.width = check_size(width, "width", "DCGANGenerator")
        gen = as_generator(rng, "DCGANGenerator: rng")
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.z_dim, 2 * c, 7, bias=False, rng=gen), nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False, rng=gen), nn.BatchNorm2d(c), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1, bias=False, rng=gen), nn.Tanh(),
        )
        dcgan_init(self, gen)

    def forward(self, z: Any) -> Tensor:
        z = _check_z("DCGANGenerator", z, self.z_dim)
        return self.net(F.reshape(z, (z.shape[0], self.z_dim, 1, 1)))  # (N, Z, 1, 1) -> (N, 1, 28, 28)

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, width={self.width}"


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for 28×28: ``Conv(4, s2) -> LReLU -> Conv(4, s2) -> BN -> LReLU -> Conv(7) -> logit``.

    Layers (``c = width``)::

        x (N, 1, 28, 28)
        Conv2d(1, c, 4, s=2, p=1)    -> (N, c, 14, 14)    LeakyReLU(0.2)
        Conv2d(c, 2c, 4, s=2, p=1)   -> (N, 2c, 7, 7)     BN, LeakyReLU(0.2)
        Conv2d(2c, 1, 7)             -> (N, 1, 1, 1)      -> logit (N,)

    Strided convolutions instead of pooling, batch norm everywhere but on the input layer, no
    biases (as PyTorch's DCGAN example), no sigmoid: the logit goes to the loss.
    Parameters: ``c·16 + c·2c·16 + 2c·49 + 2·2c``; 36,544 for ``c = 32``.

    Shapes: ``x (N, 1, 28, 28)`` -> logits ``(N,)``. dtype: float32. Init: :func:`dcgan_init`.

    Raises:
        ConfigError: bad sizes or ``rng``. ShapeError: (forward) ``x`` not ``(N, 1, 28, 28)``.

    Reference: Radford et al. 2016 (the paper's 64×64 discriminator with one stride-2 stage fewer).
    """

    def __init__(self, width: int = 32, slope: float = 0.2, rng: Any = None) -> None:
        super().__init__()
        c = self.width = check_size(width, "width", "DCGANDiscriminator")
        gen = as_generator(rng, "DCGANDiscriminator: rng")
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1, bias=False, rng=gen), nn.LeakyReLU(slope),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False, rng=gen), nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(slope),
            nn.Conv2d(2 * c, 1, 7, bias=False, rng=gen),
        )
        dcgan_init(self, gen)

    def forward(self, x: Any) -> Tensor:
        x = _check_images("DCGANDiscriminator", x)
        return F.reshape(self.net(x), (x.shape[0],))  # (N, 1, 1, 1) -> (N,)

    def extra_repr(self) -> str:
        return f"width={self.width}"


def _hidden(owner: str, hidden: Any) -> list[int]:
    if not isinstance(hidden, (list, tuple)) or not hidden:
        raise ConfigError(f"{owner}: hidden must be a non-empty sequence of ints >= 1, got {hidden!r}")
    return [check_size(h, "hidden", owner) for h in hidden]


class MLPGenerator(nn.Module):
    """The plain GAN's generator: ``z -> Linear -> ReLU -> ... -> Linear(784) -> tanh``, reshaped to 28×28.

    Parameters: ``Σ (d_in + 1)·d_out`` over ``[Z, *hidden, 784]``; 247,440 for ``Z = 100, hidden = (128, 256)``.
    Shapes: ``z (N, Z)`` -> ``x (N, 1, 28, 28)`` in (-1, 1). dtype: float32.
    Init: the Linear layers' default (``U(-1/√D, 1/√D)``, torch's).

    Raises:
        ConfigError: bad sizes. ShapeError: (forward) ``z`` not ``(N, Z)``.

    Reference: Goodfellow et al. 2014, "Generative adversarial nets". Deviation: ReLU hidden units and a
    tanh output (the paper: rectifier and sigmoid mixtures), to share the DCGAN's [-1, 1] pixels.
    """

    def __init__(self, z_dim: int = 100, hidden: Sequence[int] = (128, 256), rng: Any = None) -> None:
        super().__init__()
        self.z_dim = check_size(z_dim, "z_dim", "MLPGenerator")
        self.hidden = _hidden("MLPGenerator", hidden)
        gen = as_generator(rng, "MLPGenerator: rng")
        sizes = [self.z_dim, *self.hidden, 784]
        layers: list[nn.Module] = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(d_in, d_out, rng=gen), nn.ReLU()]
        layers[-1] = nn.Tanh()
        self.net = nn.Sequential(*layers, nn.Unflatten(IMAGE))

    def forward(self, z: Any) -> Tensor:
        return self.net(_check_z("MLPGenerator", z, self.z_dim))  # (N, Z) -> (N, 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """The plain GAN's discriminator: ``x (784) -> Linear -> LeakyReLU(0.2) -> ... -> Linear(1)`` -> logit.

    Parameters: 233,985 for ``hidden = (256, 128)``.
    Shapes: ``x (N, 1, 28, 28)`` -> logits ``(N,)``. dtype: float32. Init: the Linear default.

    Raises:
        ConfigError: bad sizes. ShapeError: (forward) ``x`` not ``(N, 1, 28, 28)``.

    Reference: Goodfellow et al. 2014. Deviation: LeakyReLU(0.2) units as the DCGAN's discriminator
    (the paper: maxout with dropout), so that the two GANs differ by their convolutions only.
    """

    def __init__(self, hidden: Sequence[int] = (256, 128), slope: float = 0.2, rng: Any = None) -> None:
        super().__init__()
        self.hidden = _hidden("MLPDiscriminator", hidden)
        gen = as_generator(rng, "MLPDiscriminator: rng")
        sizes = [784, *self.hidden, 1]
        layers: list[nn.Module] = [nn.Flatten()]
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(d_in, d_out, rng=gen), nn.LeakyReLU(slope)]
        self.net = nn.Sequential(*layers[:-1])

    def forward(self, x: Any) -> Tensor:
        x = _check_images("MLPDiscriminator", x)
        return F.reshape(self.net(x), (x.shape[0],))  # (N, 1) -> (N,)


def sample_z(n: int, z_dim: int, rng: Any, dtype: Any = np.float32) -> np.ndarray:
    """``z (n, z_dim) ~ N(0, I)``, the generators' input."""
    gen = as_generator(rng, "sample_z: rng")
    return gen.standard_normal((check_size(n, "n", "sample_z", min=0), check_size(z_dim, "z_dim", "sample_z")),
                               dtype=np.dtype(dtype))


def discriminator_loss(D: nn.Module, G: nn.Module, x_real: Any, z: Any) -> Tensor:
    """The discriminator's loss ``-[log D(x) + log(1 - D(G(z)))]``, batch means, on logits.

    ``BCE(D(x), 1) + BCE(D(G(z)), 0)`` with :func:`F.binary_cross_entropy_with_logits`. The fake images are
    made without a graph (``no_grad``): this step updates D only, and G's parameters get no gradient.
    Real and fake go through D as two batches (two sets of batch-norm statistics), as PyTorch's DCGAN example.

    Shapes: ``x_real (N, 1, 28, 28)``, ``z (M, Z)`` -> ``()``.

    Reference: Goodfellow et al. 2014, eq. 1 (the maximisation over D, negated).
    """
    with no_grad():
        fake = G(z)
    real_logits, fake_logits = D(x_real), D(fake.data)
    xp = get_array_module(real_logits)
    ones, zeros = xp.ones(real_logits.shape, real_logits.dtype), xp.zeros(fake_logits.shape, fake_logits.dtype)
    return (F.binary_cross_entropy_with_logits(real_logits, ones)
            + F.binary_cross_entropy_with_logits(fake_logits, zeros))


def generator_loss(D: nn.Module, G: nn.Module, z: Any) -> Tensor:
    """The non-saturating generator loss ``-log D(G(z))`` (batch mean), on logits: ``BCE(D(G(z)), 1)``.

    Minimising ``log(1 - D(G(z)))`` (the minimax game) saturates early in training, when D rejects
    the fakes confidently and the gradient ``∂/∂a log(1 - σ(a)) = -σ(a)`` vanishes; ``-log σ(a)`` has
    gradient ``σ(a) - 1 ≈ -1`` there (Goodfellow et al. 2014, section 3). D gets gradients too (the
    graph runs through it); the generator's optimizer updates G only.

    Shapes: ``z (M, Z)`` -> ``()``.
    """
    logits = D(G(z))
    return F.binary_cross_entropy_with_logits(logits, get_array_module(logits).ones(logits.shape, logits.dtype))
