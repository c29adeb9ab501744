"""F.gaussian_kl_divergence_two: closed form, zero at q == p, finite differences, PyTorch parity."""

import numpy as np
import pytest

import glassnet.functional as F
from glassnet.errors import ConfigError, ShapeError
from glassnet.testing import check_parity, gradcheck
from tests.helpers import torch


def _inputs(seed=0, shape=(4, 3)):
    r = np.random.default_rng(seed)
    return (r.standard_normal(shape), r.standard_normal(shape) * 0.7,
            r.standard_normal(shape), r.standard_normal(shape) * 0.7)


def test_forward_is_the_closed_form_and_reduces_to_the_standard_normal_case():
    mq, vq, mp, vp = _inputs()
    kl = F.gaussian_kl_divergence_two(mq, vq, mp, vp, reduction="none").data
    want = 0.5 * (vp - vq + (np.exp(vq) + (mq - mp) ** 2) / np.exp(vp) - 1)
    np.testing.assert_allclose(kl, want, rtol=1e-13)
    assert F.gaussian_kl_divergence_two(mq, vq, mp, vp).item() == pytest.approx(want.sum(), rel=1e-13)
    assert F.gaussian_kl_divergence_two(mq, vq, mp, vp, reduction="mean").item() == pytest.approx(want.mean(),
                                                                                                    rel=1e-13)
    zero = np.zeros_like(mq)
    np.testing.assert_allclose(F.gaussian_kl_divergence_two(mq, vq, zero, zero, reduction="none").data,
                               F.gaussian_kl_divergence(mq, vq, reduction="none").data, rtol=1e-13)


def test_zero_when_q_equals_p():
    mq, vq, _, _ = _inputs(1)
    assert F.gaussian_kl_divergence_two(mq, vq, mq, vq).item() == 0.0


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_gradcheck(reduction):
    assert gradcheck(lambda *a: F.gaussian_kl_divergence_two(*a, reduction=reduction), list(_inputs(2)))


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_torch_parity_against_distributions_kl_divergence(dtype, atol):
    D = torch.distributions

    def reference(inputs, upstream):
        mq, vq, mp, vp = (torch.tensor(a, requires_grad=True) for a in inputs)
        kl = D.kl_divergence(D.Normal(mq, torch.exp(0.5 * vq)), D.Normal(mp, torch.exp(0.5 * vp)))
        (kl * torch.tensor(upstream[0])).sum().backward()
        return [kl.detach().numpy()], [t.grad.numpy() for t in (mq, vq, mp, vp)]

    inputs = [a.astype(dtype) for a in _inputs(3)]
    check_parity(lambda *a: F.gaussian_kl_divergence_two(*a, reduction="none"), reference, inputs, atol=atol)


def test_bad_inputs():
    mq, vq, mp, vp = _inputs()
    with pytest.raises(ShapeError, match=r"ln_var_p must have the shape of mean_q \(4, 3\), got \(4, 2\)"):
        F.gaussian_kl_divergence_two(mq, vq, mp, vp[:, :2])
    with pytest.raises(ConfigError, match="reduction must be one of"):
        F.gaussian_kl_divergence_two(mq, vq, mp, vp, reduction="avg")
