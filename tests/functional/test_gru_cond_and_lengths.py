"""F.gru's per-sequence input ``cond``: the same function as x concatenated with cond at every step
(outputs and every gradient, both GRU variants, padded or not), finite differences, torch parity, bad input.
F.gru with unsorted lengths (it runs the sequences longest first): the same outputs, gradients and
``grad_h_hook`` record as the batch given longest first."""

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


@pytest.mark.parametrize("reset_after", [True, False])
def test_unsorted_lengths_give_what_the_sorted_batch_gives(reset_after):
    lengths = np.array([2, 5, 0, 5, 1])  # ties and an empty sequence; longest first: rows 1, 3, 0, 4, 2
    order = np.argsort(-lengths, kind="stable")
    rng = np.random.default_rng(6)
    n = len(lengths)
    b_shape = (2, 3 * H) if reset_after else (3 * H,)
    arrays = [rng.standard_normal((n, T, D)), rng.standard_normal((n, H)), rng.standard_normal((D + C, 3 * H)) * 0.5,
              rng.standard_normal((H, 3 * H)) * 0.5, rng.standard_normal(b_shape) * 0.5, rng.standard_normal((n, C))]
    g_hs, g_h = rng.standard_normal((n, T, H)), rng.standard_normal((n, H))
    results = []
    for perm in (np.arange(n), order):
        per_row = {0, 1, 5}  # the inputs with one row per sequence
        ts = [gn.Tensor((a[perm] if i in per_row else a).copy(), requires_grad=True) for i, a in enumerate(arrays)]
        recorded = []
        hs, h_T = F.gru(*ts[:5], cond=ts[5], reset_after=reset_after, lengths=lengths[perm],
                        grad_h_hook=recorded.append)
        gn.backward([hs, h_T], [g_hs[perm], g_h[perm]])
        back = np.argsort(perm)  # to the original row order
        results.append([hs.data[back], h_T.data[back], recorded[0][back]]
                       + [t.grad[back] if i in per_row else t.grad for i, t in enumerate(ts)])
    for k, (a, b) in enumerate(zip(*results)):
        assert_allclose(a, b, atol=1e-12, rtol=1e-12, what=f"output/record/gradient {k}")
    hs = results[0][0]
    assert (hs[0, 2:] == 0).all() and (hs[2] == 0).all() and (hs[4, 1:] == 0).all()  # zero past each length
    np.testing.assert_array_equal(results[0][1][2], arrays[1][2])  # an empty sequence's final state is h0
