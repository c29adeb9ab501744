"""zoo autoencoders and VAE: shapes, torch parity of the VAE, the IWAE estimate against quadrature."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.errors import ConfigError, ShapeError
from glassnet.zoo import VAE, Autoencoder, DenoisingAutoencoder
from tests.helpers import torch


def test_autoencoder_shapes_and_linear_has_no_activation():
    x = np.random.default_rng(0).uniform(size=(5, 1, 28, 28)).astype(np.float32)
    ae = Autoencoder([784, 64, 2], rng=0)
    assert ae.encode(x).shape == (5, 2) and ae(x).shape == (5, 784)
    assert np.isfinite(ae.loss(x).item())
    lin = Autoencoder([784, 16], activation=None, rng=0)
    assert not any(isinstance(m, (nn.ReLU, nn.Tanh, nn.Sigmoid)) for m in lin.modules())
    assert lin.encode(x).shape == (5, 16)
    # linear: the whole map is affine, so decode(encode(a x)) - decode(encode(0)) scales with a
    zero = lin(np.zeros((1, 784), np.float32)).data
    np.testing.assert_allclose(lin(2 * x[:1]).data - zero, 2 * (lin(x[:1]).data - zero), rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError):
        Autoencoder([784], rng=0)
    with pytest.raises(ConfigError):
        Autoencoder([784, 2], activation="gelu", rng=0)


def test_denoising_autoencoder_corrupts_with_the_given_noise():
    x = np.zeros((200, 784), np.float32)
    dae = DenoisingAutoencoder([784, 8], noise_std=0.5, rng=0)
    noisy = dae.corrupt(x, np.random.default_rng(1))
    assert noisy.dtype == np.float32 and abs(noisy.std() - 0.5) < 0.01
    np.testing.assert_array_equal(noisy, dae.corrupt(x, np.random.default_rng(1)))
    assert dae.loss(x, 2).item() > 0
    with pytest.raises(ConfigError):
        DenoisingAutoencoder([784, 8], noise_std=-1.0)


def _torch_vae(vae):
    return {name: torch.tensor(p.data.astype(np.float64), requires_grad=True) for name, p in vae.named_parameters()}


def test_vae_loss_and_gradients_match_torch():
    r = np.random.default_rng(0)
    vae = VAE(12, 7, 3, rng=1)
    for p in vae.parameters():
        p.data = p.data.astype(np.float64)
    x = (r.uniform(size=(5, 12)) > 0.5).astype(np.float64)
    logits, mu, lv = vae(x, np.random.default_rng(3))
    assert logits.shape == (5, 12) and mu.shape == lv.shape == (5, 3)
    loss = F.vae_loss(logits, x, mu, lv)
    loss.backward()
    t = _torch_vae(vae)
    tx = torch.tensor(x)
    h = torch.relu(tx @ t["enc.W"] + t["enc.b"])
    tmu, tlv = h @ t["mu.W"] + t["mu.b"], h @ t["log_var.W"] + t["log_var.b"]
    eps = torch.tensor(np.random.default_rng(3).standard_normal((5, 3)))
    z = tmu + torch.exp(0.5 * tlv) * eps
    tl = torch.relu(z @ t["dec.0.W"] + t["dec.0.b"]) @ t["dec.2.W"] + t["dec.2.b"]
    tloss = (torch.nn.functional.binary_cross_entropy_with_logits(tl, tx, reduction="sum")
             - 0.5 * torch.sum(1 + tlv - tmu.pow(2) - tlv.exp())) / 5
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
    for name, p in vae.named_parameters():
        np.testing.assert_allclose(p.grad, t[name].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


def test_vae_sample_and_errors():
    vae = VAE(784, 32, 2, rng=0)
    s = vae.sample(4, 0)
    assert s.shape == (4, 784) and (s >= 0).all() and (s <= 1).all()
    with pytest.raises(ShapeError):
        vae.encode(np.zeros((2, 10), np.float32))


def test_iwae_nll_approaches_the_exact_log_likelihood_of_a_1d_latent():
    # z in R^1: -log p(x) = -log ∫ p(x|z) N(z; 0, 1) dz by quadrature on a fine grid
    vae = VAE(6, 5, 1, rng=4)
    for p in vae.parameters():
        p.data = p.data.astype(np.float64) * 2
    x = (np.random.default_rng(5).uniform(size=(3, 6)) > 0.5).astype(np.float64)
    grid = np.linspace(-8, 8, 4001)
    with gn.no_grad():
        logits = vae.decode(grid[:, None]).data  # (G, 6)
    lg = logits[None]
    log_px = -(np.maximum(lg, 0) - lg * x[:, None] + np.log1p(np.exp(-np.abs(lg)))).sum(-1)
    integrand = np.exp(log_px - 0.5 * grid**2 - 0.5 * np.log(2 * np.pi))
    exact = -np.log(np.trapezoid(integrand, grid, axis=1)).mean()
    elbo = np.mean([vae.loss(x, s).item() for s in range(200)])
    iwae = vae.iwae_nll(x, k=2000, rng=0)
    assert iwae <= elbo + 1e-6  # the importance-weighted bound is tighter than the ELBO
    assert abs(iwae - exact) < 0.02 * max(1.0, abs(exact))


# ---------------------------------------------------------------- ConvAutoencoder
def _torch_conv_autoencoder(model):
    """A torch twin of ConvAutoencoder on its weights (Conv/ConvTranspose share torch's layouts; Linear's W.T)."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    def copy(theirs, ours):
        if isinstance(theirs, tnn.Linear):
            theirs.weight.data = torch.from_numpy(np.ascontiguousarray(ours.W.data.T))
        else:
            theirs.weight.data = torch.from_numpy(ours.W.data.copy())
        theirs.bias.data = torch.from_numpy(ours.b.data.copy())
        return theirs

    layers = []
    for m in list(model.encoder) + list(model.decoder):
        name = type(m).__name__
        if name == "Conv2d":
            layers.append(copy(tnn.Conv2d(m.in_channels, m.out_channels, 3, 2, 1).double(), m))
        elif name == "ConvTranspose2d":
            layers.append(copy(tnn.ConvTranspose2d(m.in_channels, m.out_channels, 3, 2, 1, 1).double(), m))
        elif name == "Linear":
            layers.append(copy(tnn.Linear(*m.W.shape).double(), m))
        elif name == "ReLU":
            layers.append(tnn.ReLU())
        elif name == "Flatten":
            layers.append(tnn.Flatten())
        else:  # Unflatten
            layers.append(tnn.Unflatten(1, tuple(m.shape)))
    return tnn.Sequential(*layers)


def test_conv_autoencoder_shapes_and_torch_parity():
    torch = pytest.importorskip("torch")
    from glassnet.zoo import ConvAutoencoder

    model = ConvAutoencoder(1, 28, widths=(4, 8), code=5, rng=0).to(np.float64)
    x = np.random.default_rng(1).random((3, 1, 28, 28))
    assert model.encode(x).shape == (3, 5) and model(x).shape == (3, 1, 28, 28)
    twin = _torch_conv_autoencoder(model)
    xt = torch.from_numpy(x)
    loss_t = torch.mean((twin(xt) - xt) ** 2)
    loss_t.backward()
    loss = model.loss(x)
    loss.backward()
    assert float(loss.data) == pytest.approx(loss_t.item(), rel=1e-12)
    grads = [p.grad for p in model.parameters()]
    theirs = [p.grad.numpy() for p in twin.parameters()]
    for i, (g, t) in enumerate(zip(grads, theirs)):
        np.testing.assert_allclose(g, t.T if g.ndim == 2 else t, rtol=1e-9, atol=1e-12, err_msg=str(i))


def test_conv_autoencoder_learns_and_denoises_and_refuses_bad_input():
    from glassnet.errors import ConfigError, ShapeError
    from glassnet.optim import Adam
    from glassnet.zoo import ConvAutoencoder

    x = np.random.default_rng(2).random((16, 1, 8, 8)).astype(np.float32)
    model = ConvAutoencoder(1, 8, widths=(4,), code=6, rng=0)
    opt = Adam(list(model.parameters()), lr=1e-2)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = model.loss(x)
        loss.backward()
        opt.step()
        first = float(loss.data) if first is None else first
    assert float(model.loss(x).data) < 0.5 * first
    noisy = ConvAutoencoder(1, 8, widths=(4,), code=6, noise_std=0.5, rng=0)
    clean = ConvAutoencoder(1, 8, widths=(4,), code=6, rng=0)
    a, b = float(noisy.loss(x, rng=3).data), float(noisy.loss(x, rng=3).data)
    assert a == b != float(clean.loss(x).data)  # the noise is drawn from the rng given, and it is used
    with pytest.raises(ConfigError, match="divisible by 2\\^2"):
        ConvAutoencoder(1, 10, widths=(4, 8))
    with pytest.raises(ConfigError, match="widths"):
        ConvAutoencoder(1, 8, widths=())
    with pytest.raises(ShapeError, match=r"x must be \(N, 1, 8, 8\)"):
        model.loss(np.zeros((2, 1, 9, 9), np.float32))
