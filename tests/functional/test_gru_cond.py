"""F.gru's per-sequence input ``cond``: the same function as x concatenated with cond at every step
(outputs and every gradient, both GRU variants, padded or not), finite differences, torch parity, bad input."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import DTypeError, ShapeError
from glassnet.testing import assert_allclose, gradcheck
from tests.helpers import torch

N, T, D, C, H = 3, 5, 2, 4, 3
LENGTHS = np.array([5, 0, 2])


def _inputs(reset_after=True, seed=0):
    rng = np.random.default_rng(seed)
    b_shape = (2, 3 * H) if reset_after else (3 * H,)
    return [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((D + C, 3 * H)) * 0.5,
            rng.standard_normal((H, 3 * H)) * 0.5, rng.standard_normal(b_shape) * 0.5, rng.standard_normal((N, C))]


def _concatenated(x, h0, W_x, W_h, b, cond, **kw):
    cond_t = F.broadcast_to(F.reshape(cond, (N, 1, C)), (N, T, C))
    return F.gru(F.concat([x, cond_t], axis=2), h0, W_x, W_h, b, **kw)


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
@pytest.mark.parametrize("reset_after", [True, False])
def test_cond_equals_the_input_concatenated_at_every_step(reset_after, lengths):
    results = []
    for fn in (lambda *a, **kw: F.gru(*a[:5], cond=a[5], **kw), _concatenated):
        ts = [gn.Tensor(a.copy(), requires_grad=True) for a in _inputs(reset_after, seed=1)]
        outs = fn(*ts, reset_after=reset_after, lengths=lengths)
        upstream = np.random.default_rng(7)
        gn.backward(list(outs), [upstream.standard_normal(o.shape) for o in outs])
        results.append([o.data for o in outs] + [t.grad for t in ts])
    for k, (a, b) in enumerate(zip(*results)):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float64
        assert_allclose(a, b, atol=1e-12, rtol=1e-12, what=f"output/gradient {k}")
    assert np.abs(results[0][-1]).max() > 0.1  # cond does get a gradient


@pytest.mark.parametrize("reset_after", [True, False])
def test_cond_gradcheck(reset_after):
    fn = lambda x, h0, W_x, W_h, b, cond: F.gru(x, h0, W_x, W_h, b, reset_after=reset_after,  # noqa: E731
                                                lengths=LENGTHS, cond=cond)
    assert gradcheck(fn, _inputs(reset_after, seed=2), atol=1e-7, rtol=1e-6)


def test_cond_matches_torch_float32():
    x, h0, W_x, W_h, b, cond = (a.astype(np.float32) for a in _inputs(seed=3))
    ts = [gn.Tensor(a, requires_grad=True) for a in (x, h0, W_x, W_h, b, cond)]
    hs, h_T = F.gru(*ts[:5], cond=ts[5])
    g = np.random.default_rng(4).standard_normal(hs.shape).astype(np.float32)
    hs.backward(g)
    tt = [torch.tensor(a, requires_grad=True) for a in (x, h0, W_x, W_h, b, cond)]
    m = torch.nn.GRU(D + C, H, batch_first=True)
    params = {"weight_ih_l0": tt[2].T, "weight_hh_l0": tt[3].T, "bias_ih_l0": tt[4][0], "bias_hh_l0": tt[4][1]}
    inp = torch.cat([tt[0], tt[5][:, None].expand(N, T, C)], dim=2)
    ths, _ = torch.func.functional_call(m, params, (inp, tt[1][None]))
    ths.backward(torch.from_numpy(g))
    assert_allclose(hs.data, ths.detach().numpy(), atol=1e-5, what="hs")
    for t, u, name in zip(ts, tt, ("x", "h0", "W_x", "W_h", "b", "cond")):
        assert t.grad.dtype == np.float32
        assert_allclose(t.grad, u.grad.numpy(), atol=1e-4, what=name)


def test_cond_edge_sizes():
    x, h0, W_x, W_h, b, cond = _inputs()
    hs, h_T = F.gru(x[:, :0], h0, W_x, W_h, b, cond=cond)  # no steps: the final state is h0
    assert hs.shape == (N, 0, H) and np.array_equal(h_T.data, h0)
    hs, h_T = F.gru(x, h0, W_x[:D], W_h, b, cond=cond[:, :0])  # an empty cond is no cond
    want = F.gru(x, h0, W_x[:D], W_h, b)
    assert_allclose(hs.data, want[0].data, atol=1e-14, what="hs")


def test_cond_bad_input():
    x, h0, W_x, W_h, b, cond = _inputs()
    with pytest.raises(ShapeError, match=r"gru: cond must be \(N, D_c\), got shape \(3, 1, 4\)"):
        F.gru(x, h0, W_x, W_h, b, cond=cond[:, None])
    with pytest.raises(ShapeError, match=r"gru: cond must be \(N, D_c\) with N == 3"):
        F.gru(x, h0, W_x, W_h, b, cond=cond[:2])
    with pytest.raises(ShapeError, match=r"gru: x must be \(N, T, D\) with D == 3 \(W_x has 6 rows, cond 3"):
        F.gru(x, h0, W_x, W_h, b, cond=cond[:, :3])
    with pytest.raises(DTypeError, match="gru: cond has dtype float32 but x has float64"):
        F.gru(x, h0, W_x, W_h, b, cond=cond.astype(np.float32))
