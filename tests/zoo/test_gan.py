"""DCGAN and MLP GAN: shapes, parameter counts, DCGAN init, step isolation, torch parity of the generator."""

import numpy as np
import pytest

from glassnet.errors import ShapeError
from glassnet.optim import Adam
from glassnet.testing.parity import assert_allclose
from glassnet.train import train_step
from glassnet.zoo import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    discriminator_loss,
    generator_loss,
)
from glassnet.zoo.gan import sample_z


def test_shapes_and_parameter_counts():
    z = sample_z(3, 100, 0)
    for G, D, n_g, n_d in ((DCGANGenerator(rng=0), DCGANDiscriminator(rng=1), 347_072, 36_544),
                           (MLPGenerator(rng=0), MLPDiscriminator(rng=1), 247_440, 233_985)):
        x = G(z)
        assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32
        assert float(np.abs(x.data).max()) < 1.0
        assert D(x).shape == (3,)
        assert (G.num_parameters(), D.num_parameters()) == (n_g, n_d)
    with pytest.raises(ShapeError, match=r"z must be \(N, Z\) with Z == 100"):
        DCGANGenerator(rng=0)(np.zeros((2, 99), np.float32))
    with pytest.raises(ShapeError, match=r"x must be \(N, 1, 28, 28\)"):
        DCGANDiscriminator(rng=0)(np.zeros((2, 1, 32, 32), np.float32))


def test_dcgan_init_statistics():
    G = DCGANGenerator(rng=0)
    w = G.net[0].W.data  # 313,600 weights
    assert abs(w.mean()) < 3e-4 and abs(w.std() - 0.02) < 3e-4
    gamma = G.net[1].gamma.data
    assert abs(gamma.mean() - 1) < 0.01 and 0.01 < gamma.std() < 0.03 and not np.any(G.net[1].beta.data)
    assert DCGANGenerator(rng=0).net[3].W.data.tobytes() == G.net[3].W.data.tobytes()


def _snapshot(m):
    return {k: v.data.copy() for k, v in m.named_parameters()}


def _changed(m, before):
    return {k for k, v in m.named_parameters() if not np.array_equal(v.data, before[k])}


def test_d_step_and_g_step_change_only_their_model():
    G, D = DCGANGenerator(width=8, rng=0), DCGANDiscriminator(width=8, rng=1)
    opt_g = Adam(list(G.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = Adam(list(D.parameters()), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    g0, d0 = _snapshot(G), _snapshot(D)
    loss = train_step(opt_d, lambda: discriminator_loss(D, G, x, sample_z(4, 100, rng)), model=D).loss
    assert 0.5 < loss < 3.0  # ≈ 2 log 2 at init
    assert _changed(D, d0) == set(d0) and not _changed(G, g0)
    assert all(p.grad is None or not np.any(p.grad) for p in G.parameters())
    g1, d1 = _snapshot(G), _snapshot(D)
    train_step(opt_g, lambda: generator_loss(D, G, sample_z(4, 100, rng)), model=G)
    assert _changed(G, g1) == set(g1) and not _changed(D, d1)


def test_dcgan_generator_matches_torch_float64():
    torch = pytest.importorskip("torch")
    G = DCGANGenerator(z_dim=10, width=4, rng=0).to(np.float64)
    z = sample_z(5, 10, 1, dtype=np.float64)
    c = 4
    ref = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(10, 2 * c, 7, bias=False), torch.nn.BatchNorm2d(2 * c), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(c), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(c, 1, 4, 2, 1, bias=False), torch.nn.Tanh()).double()
    with torch.no_grad():
        for i in (0, 3, 6):
            ref[i].weight.copy_(torch.from_numpy(G.net[i].W.data))
        for i in (1, 4):
            ref[i].weight.copy_(torch.from_numpy(G.net[i].gamma.data))
            ref[i].bias.copy_(torch.from_numpy(G.net[i].beta.data))
    zt = torch.from_numpy(z).reshape(5, 10, 1, 1).requires_grad_(True)
    out = ref(zt)
    mine = G(z)
    assert_allclose(mine.data, out.detach().numpy(), atol=1e-10, what="generator output")
    grad = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(torch.from_numpy(grad))
    from glassnet.autograd import Tensor
    (mine * Tensor(grad)).sum().backward()
    assert_allclose(G.net[0].W.grad, ref[0].weight.grad.numpy(), atol=1e-8, what="dL/dW of the first layer")
    assert_allclose(G.net[1].running_var, ref[1].running_var.numpy(), atol=1e-10, what="running variance")
