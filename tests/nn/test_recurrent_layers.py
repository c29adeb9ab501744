"""RNN / LSTM / GRU layers: torch parity (2 layers, bidirectional, padded), stateful mode, dL/dh record, bad input."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn as nn
from glassnet.errors import ConfigError, ShapeError
from glassnet.testing import assert_allclose
from tests.helpers import torch

N, T, D, H, L = 3, 5, 4, 3, 2
TORCH = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def copy_to_torch(ours: nn.Module, theirs) -> dict:
    """Copy our weights into a torch module (one transpose each); returns torch name -> our Parameter.

    Our single bias ``b`` of RNN/LSTM goes to ``bias_ih`` (``bias_hh = 0``), so both torch biases have
    our ``b``'s gradient; GRU's ``b (2, 3H)`` is (``bias_ih``, ``bias_hh``).
    """
    pairs = {}
    for name, p in theirs.named_parameters():
        kind, which, *rest = name.split("_")  # weight_ih_l0_reverse -> weight, ih, [l0, reverse]
        suffix = "_" + "_".join(rest)
        if kind == "weight":
            mine = getattr(ours, ("W_x" if which == "ih" else "W_h") + suffix)
            value = mine.data.T
        else:
            mine = getattr(ours, "b" + suffix)
            if mine.ndim == 2:
                value = mine.data[0 if which == "ih" else 1]
            else:
                value = mine.data if which == "ih" else np.zeros_like(mine.data)
        with torch.no_grad():
            p.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        pairs[name] = mine
    return pairs


def our_grad_as_torch(name: str, mine) -> np.ndarray:
    which = name.split("_")[1]
    if name.startswith("weight"):
        return mine.grad.T
    return mine.grad[0 if which == "ih" else 1] if mine.ndim == 2 else mine.grad


def check_against_torch(kind, dtype, tol, lengths=None, **options):
    rng = np.random.default_rng(0)
    ours = getattr(nn, kind)(D, H, num_layers=L, bidirectional=True, rng=1, **options).to(dtype)
    theirs = TORCH[kind](D, H, num_layers=L, bidirectional=True, batch_first=True, **options)
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    pairs = copy_to_torch(ours, theirs)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    states = [rng.standard_normal((2 * L, N, H)).astype(dtype) for _ in range(2 if kind == "LSTM" else 1)]
    g_hs = rng.standard_normal((N, T, 2 * H)).astype(dtype)
    g_states = [rng.standard_normal(s.shape).astype(dtype) for s in states]

    xs = gn.Tensor(x, requires_grad=True)
    st = [gn.Tensor(s, requires_grad=True) for s in states]
    hs, final = ours(xs, tuple(st) if kind == "LSTM" else st[0], lengths=lengths)
    final = list(final) if kind == "LSTM" else [final]
    gn.backward([hs, *final], [g_hs, *g_states])

    tx = torch.tensor(x, requires_grad=True)
    tst = [torch.tensor(s, requires_grad=True) for s in states]
    t_state = tuple(tst) if kind == "LSTM" else tst[0]
    if lengths is None:
        t_hs, t_final = theirs(tx, t_state)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        t_out, t_final = theirs(packed, t_state)
        t_hs, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True, total_length=T)
    t_final = list(t_final) if kind == "LSTM" else [t_final]
    torch.autograd.backward([t_hs, *t_final], [torch.from_numpy(g) for g in [g_hs, *g_states]])

    assert_allclose(hs.data, t_hs.detach().numpy(), atol=tol, rtol=tol, what=f"{kind} hs")
    for k, (a, b) in enumerate(zip(final, t_final)):
        assert_allclose(a.data, b.detach().numpy(), atol=tol, rtol=tol, what=f"{kind} final state {k}")
    assert_allclose(xs.grad, tx.grad.numpy(), atol=tol, rtol=tol, what=f"{kind} dL/dx")
    for k, (a, b) in enumerate(zip(st, tst)):
        assert_allclose(a.grad, b.grad.numpy(), atol=tol, rtol=tol, what=f"{kind} dL/d(initial state {k})")
    for name, p in theirs.named_parameters():
        assert_allclose(our_grad_as_torch(name, pairs[name]), p.grad.numpy(), atol=tol, rtol=tol, what=f"{kind} {name}")


@pytest.mark.parametrize("kind", sorted(TORCH))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-8), (np.float32, 1e-4)], ids=["float64", "float32"])
def test_parity_with_torch_two_layers_bidirectional(kind, dtype, tol):
    check_against_torch(kind, dtype, tol)


@pytest.mark.parametrize("kind", sorted(TORCH))
def test_parity_with_torch_packed_padded_batch(kind):
    check_against_torch(kind, np.float64, 1e-8, lengths=np.array([2, 5, 1]))


def test_parity_relu_rnn():
    check_against_torch("RNN", np.float64, 1e-8, nonlinearity="relu")


def test_parameters_names_shapes_and_init():
    lstm = nn.LSTM(D, H, num_layers=2, bidirectional=True, peephole=True, rng=0)
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert shapes["W_x_l0"] == (D, 4 * H) and shapes["W_x_l1_reverse"] == (2 * H, 4 * H)
    assert shapes["W_h_l1"] == (H, 4 * H) and shapes["b_l0_reverse"] == (4 * H,) and shapes["p_l1"] == (3, H)
    assert len(shapes) == 2 * 2 * 4
    bound = 1 / np.sqrt(H)
    assert all(np.abs(p.data).max() <= bound for p in lstm.parameters())
    assert all(p.dtype == np.float32 for p in lstm.parameters())
    assert nn.GRU(D, H).b_l0.shape == (2, 3 * H) and nn.GRU(D, H, reset_after=False).b_l0.shape == (3 * H,)
    # the GRU has three gate blocks to the LSTM's four (plus PyTorch's second bias b_h)
    assert nn.LSTM(D, H).num_parameters() == 4 * H * (D + H) + 4 * H
    assert nn.GRU(D, H).num_parameters() == 3 * H * (D + H) + 2 * 3 * H


def test_same_seed_same_weights():
    a, b = nn.GRU(D, H, rng=3), nn.GRU(D, H, rng=3)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_stateful_chunks_equal_one_long_sequence_and_cut_the_graph(kind):
    rng = np.random.default_rng(2)
    whole = nn.__dict__[kind](D, H, num_layers=2, rng=0).to(np.float64)
    chunked = nn.__dict__[kind](D, H, num_layers=2, stateful=True, rng=0).to(np.float64)
    x = rng.standard_normal((N, 2 * T, D))
    hs_whole, _ = whole(x)
    x1 = gn.Tensor(x[:, :T], requires_grad=True)
    hs1, _ = chunked(x1)
    hs2, _ = chunked(x[:, T:])
    assert_allclose(np.concatenate([hs1.data, hs2.data], axis=1), hs_whole.data, atol=1e-12, what="stateful")
    hs2.backward(np.ones(hs2.shape))
    assert x1.grad is None  # the graph was cut between the chunks: chunk 2's loss does not reach chunk 1
    with pytest.raises(ShapeError, match=rf"{kind}: the carried state has batch size {N} but x has 1"):
        chunked(x[:1, :T])
    chunked.reset_state()
    hs_again, _ = chunked(x[:, :T])
    assert_allclose(hs_again.data, hs1.data, atol=0, what="after reset_state")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_record_grad_per_step_aligned_with_input_time(kind):
    rng = np.random.default_rng(4)
    layer = nn.__dict__[kind](D, H, bidirectional=True, record_grad=True, rng=0).to(np.float64)
    hs, _ = layer(rng.standard_normal((N, T, D)))
    g = np.zeros(hs.shape)
    g[:, T - 1, :H] = rng.standard_normal((N, H))  # forward direction: loss on its last output only
    g[:, 0, H:] = rng.standard_normal((N, H))  # backward direction: loss on its last output, at t = 0
    hs.backward(g)
    fwd, bwd = layer.grad_h[(0, 0)], layer.grad_h[(0, 1)]
    assert fwd.shape == bwd.shape == (N, T, H)
    np.testing.assert_array_equal(fwd[:, T - 1], g[:, T - 1, :H])
    np.testing.assert_array_equal(bwd[:, 0], g[:, 0, H:])
    norms = layer.grad_h_norms()
    assert norms.shape == (T,)
    np.testing.assert_allclose(norms[T - 1], np.linalg.norm(g[:, T - 1, :H], axis=1).mean())
    assert (layer.grad_h_norms(direction=1)[1:] > 0).all()
    with pytest.raises(ConfigError, match=rf"{kind}: no dL/dh recorded for layer 0, direction 0"):
        nn.__dict__[kind](D, H).grad_h_norms()


def test_dropout_between_layers_only_in_training():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, T, D))
    plain = nn.LSTM(D, H, num_layers=2, rng=0).to(np.float64)
    dropped = nn.LSTM(D, H, num_layers=2, dropout=0.5, rng=0).to(np.float64)
    assert not np.allclose(dropped(x)[0].data, plain(x)[0].data)
    dropped.eval()
    np.testing.assert_array_equal(dropped(x)[0].data, plain(x)[0].data)


def test_peephole_and_reset_before_layers_match_functional():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((N, T, D))
    lstm = nn.LSTM(D, H, peephole=True, rng=0).to(np.float64)
    hs, (h_n, c_n) = lstm(x)
    ref = gn.F.lstm_composed(x, None, None, lstm.W_x_l0, lstm.W_h_l0, lstm.b_l0, peephole=lstm.p_l0)
    assert_allclose(hs.data, ref[0].data, atol=1e-12, what="peephole LSTM")
    assert_allclose(c_n.data[0], ref[2].data, atol=1e-12, what="peephole LSTM c_n")
    gru = nn.GRU(D, H, reset_after=False, rng=0).to(np.float64)
    ref = gn.F.gru_composed(x, None, gru.W_x_l0, gru.W_h_l0, gru.b_l0, reset_after=False)
    assert_allclose(gru(x)[0].data, ref[0].data, atol=1e-12, what="reset_before GRU")


def test_bad_input():
    lstm = nn.LSTM(4, 5, num_layers=2)
    with pytest.raises(ShapeError, match=r"LSTM: x must be \(N, T, D\) with D == 4, got \(2, 7, 3\)"):
        lstm(np.zeros((2, 7, 3), np.float32))
    with pytest.raises(ShapeError, match=r"LSTM: h0 must be \(L·dirs, N, H\) == \(2, 2, 5\), got \(1, 2, 5\)"):
        lstm(np.zeros((2, 7, 4), np.float32), (np.zeros((1, 2, 5), np.float32), np.zeros((2, 2, 5), np.float32)))
    with pytest.raises(ShapeError, match=r"LSTM: state must be a pair \(h0, c0\)"):
        lstm(np.zeros((2, 7, 4), np.float32), np.zeros((2, 2, 5), np.float32))
    with pytest.raises(ShapeError, match=r"lstm: lengths must lie in \[0, T\] = \[0, 7\]"):
        lstm(np.zeros((2, 7, 4), np.float32), lengths=np.array([8, 1]))
    with pytest.raises(ConfigError, match=r"RNN: nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        nn.RNN(4, 5, nonlinearity="gelu")
    with pytest.raises(ConfigError, match=r"GRU: dropout must be a number in \[0, 1\), got 1.0"):
        nn.GRU(4, 5, dropout=1.0)
    with pytest.raises(ConfigError, match=r"GRU: hidden_size must be an int >= 1, got 0"):
        nn.GRU(4, 0)
    with pytest.raises(ConfigError, match=r"LSTM: bidirectional must be a bool, got 'yes'"):
        nn.LSTM(4, 5, bidirectional="yes")


def test_lstm_forget_bias_shifts_only_the_forget_slice():
    from glassnet import nn as gnn
    from glassnet.errors import ConfigError

    H = 5
    plain = gnn.LSTM(3, H, num_layers=2, bidirectional=True, rng=7)
    shifted = gnn.LSTM(3, H, num_layers=2, bidirectional=True, rng=7, forget_bias=1.0)
    for (name, a), (_, b) in zip(plain.named_parameters(), shifted.named_parameters()):
        diff = b.data - a.data
        if name.startswith("b_l"):
            np.testing.assert_allclose(diff[H:2 * H], 1.0, rtol=0, atol=1e-6)
            assert not diff[:H].any() and not diff[2 * H:].any()
        else:
            assert not diff.any(), name
    with pytest.raises(ConfigError, match="forget_bias must be a finite number"):
        gnn.LSTM(3, H, forget_bias=float("nan"))
