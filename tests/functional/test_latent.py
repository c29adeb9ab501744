"""F.reparameterize and F.vae_loss: NumPy formulas, finite differences, PyTorch parity."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, ShapeError
from glassnet.testing import gradcheck
from tests.helpers import torch

tF = torch.nn.functional


def _inputs(seed=0, n=4, z=3, d=6):
    r = np.random.default_rng(seed)
    return (r.standard_normal((n, d)) * 2, r.uniform(0, 1, (n, d)), r.standard_normal((n, z)),
            r.standard_normal((n, z)) * 0.5, r.standard_normal((n, z)))


def test_reparameterize_forward_is_mu_plus_sigma_eps():
    _, _, mu, lv, eps = _inputs()
    z = F.reparameterize(mu, lv, eps)
    np.testing.assert_allclose(z.data, mu + np.exp(lv / 2) * eps, rtol=1e-12)


def test_reparameterize_backward_formula_and_gradcheck():
    _, _, mu, lv, eps = _inputs(1)
    m, v = gn.Tensor(mu, requires_grad=True), gn.Tensor(lv, requires_grad=True)
    g = np.random.default_rng(2).standard_normal(mu.shape)
    (F.reparameterize(m, v, eps) * gn.Tensor(g)).sum().backward()
    np.testing.assert_allclose(m.grad, g, rtol=1e-12)
    np.testing.assert_allclose(v.grad, g * eps * np.exp(lv / 2) / 2, rtol=1e-12)
    assert gradcheck(F.reparameterize, [mu, lv, eps])  # eps's gradient (σ) checked too


def test_reparameterize_torch_parity_float32():
    _, _, mu, lv, eps = [a.astype(np.float32) for a in _inputs(3)]
    m, v = gn.Tensor(mu, requires_grad=True), gn.Tensor(lv, requires_grad=True)
    z = F.reparameterize(m, v, eps)
    assert z.dtype == np.float32
    (z * z).sum().backward()
    tm, tv = torch.tensor(mu, requires_grad=True), torch.tensor(lv, requires_grad=True)
    tz = tm + torch.exp(0.5 * tv) * torch.tensor(eps)
    (tz * tz).sum().backward()
    np.testing.assert_allclose(z.data, tz.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(m.grad, tm.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-5, atol=1e-6)


def np_neg_elbo(logits, x, mu, lv):
    p = 1 / (1 + np.exp(-logits))
    rec = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1)
    kl = -0.5 * (1 + lv - mu**2 - np.exp(lv)).sum(1)
    return rec + kl


def test_vae_loss_matches_numpy_per_image_and_mean():
    logits, x, mu, lv, _ = _inputs(4)
    per = np_neg_elbo(logits, x, mu, lv)
    np.testing.assert_allclose(F.vae_loss(logits, x, mu, lv, reduction="none").data, per, rtol=1e-12)
    np.testing.assert_allclose(F.vae_loss(logits, x, mu, lv).item(), per.mean(), rtol=1e-12)
    np.testing.assert_allclose(F.vae_loss(logits, x, mu, lv, reduction="sum").item(), per.sum(), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_vae_loss_gradcheck(reduction):
    logits, x, mu, lv, _ = _inputs(5)
    assert gradcheck(lambda a, b, c: F.vae_loss(a, x, b, c, reduction=reduction), [logits, mu, lv])


def test_vae_loss_torch_parity_end_to_end_through_the_sample():
    # PyTorch's examples/vae loss: BCE summed + -0.5 Σ(1 + logvar - μ² - e^logvar), here per image
    logits, x, mu, lv, eps = _inputs(6)
    w = np.random.default_rng(7).standard_normal((3, 6))
    m, v, W = (gn.Tensor(a, requires_grad=True) for a in (mu, lv, w))
    loss = F.vae_loss(F.reparameterize(m, v, eps) @ W, x, m, v)
    loss.backward()
    tm, tv, tW = (torch.tensor(a, requires_grad=True) for a in (mu, lv, w))
    tz = tm + torch.exp(0.5 * tv) * torch.tensor(eps)
    tl = (tF.binary_cross_entropy_with_logits(tz @ tW, torch.tensor(x), reduction="sum")
          - 0.5 * torch.sum(1 + tv - tm.pow(2) - tv.exp())) / len(x)
    tl.backward()
    np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-10)
    for ours, theirs in ((m, tm), (v, tv), (W, tW)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_errors():
    logits, x, mu, lv, eps = _inputs()
    with pytest.raises(ShapeError):
        F.reparameterize(mu, lv[:, :2], eps)
    with pytest.raises(ShapeError):
        F.vae_loss(logits, x, mu[:2], lv[:2])
    with pytest.raises(ConfigError):
        F.vae_loss(logits, x, mu, lv, reduction="avg")
