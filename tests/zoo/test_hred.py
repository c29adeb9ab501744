"""HRED and VHRED: shapes, PyTorch parity of the loss and every gradient, finite differences, masking,
the KL term, word dropout, decoding, a tiny task that needs the context two turns back, bad inputs."""

import numpy as np
import pytest

import glassnet.optim as optim
from glassnet.errors import ConfigError, DataError, ShapeError
from glassnet.zoo.hred import HRED, VHRED, linear_kl_weight
from tests.helpers import torch

PAD, UNK, BOS, EOS, V = 0, 1, 2, 3, 10
# three dialogues, U = 3 rows of L = 4: the first has one turn, the second two, the third three
CONTEXT = np.array([[[0, 0, 0, 0], [0, 0, 0, 0], [5, 6, 3, 0]],
                    [[0, 0, 0, 0], [4, 3, 0, 0], [7, 8, 9, 3]],
                    [[6, 3, 0, 0], [5, 5, 3, 0], [9, 3, 0, 0]]])
N_TURNS = np.array([1, 2, 3])
RESPONSE = np.array([[2, 5, 3, 0, 0], [2, 6, 7, 8, 3], [2, 3, 0, 0, 0]])


def _hred(context_rnn=True, seed=0, **kw):
    return HRED(V, 4, 5, 6, 7, context_rnn=context_rnn, rng=seed, **kw).to(np.float64)


def _vhred(seed=0, **kw):
    return VHRED(V, 4, 5, 6, 7, latent=3, latent_hidden=4, rng=seed, **kw).to(np.float64)


def test_shapes():
    for model, C in ((_hred(), 6), (_hred(context_rnn=False), 5), (_vhred(), 6)):
        c = model.encode_context(CONTEXT, N_TURNS)
        assert c.shape == (3, C) and c.dtype == np.float64
        t = model.terms(CONTEXT, N_TURNS, RESPONSE)
        assert t.nll.shape == () and t.tokens == 2 + 4 + 1
        assert (t.kl is None) == (not isinstance(model, VHRED))
    t = _vhred().terms(CONTEXT, N_TURNS, RESPONSE, rng=0)
    assert t.kl.shape == (3,) and (t.kl.data > 0).all()
    cond = np.zeros((3, 6 + 3))
    logits, state = _vhred().decode(RESPONSE[:, :-1], cond)
    assert logits.shape == (3, 4, V) and state.shape == (1, 3, 7)


def _torch_hred_loss(model):
    """The same HRED in torch from the shared weights, one dialogue and one utterance at a time."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.state_dict().items()}

    def gru(prefix, x, h):  # x (T, D), h (H,): torch's GRU with W_x (D, 3H) -> weight_ih (3H, D)
        m = torch.nn.GRU(x.shape[1], h.shape[0], batch_first=True).double()
        params = {"weight_ih_l0": p[prefix + ".W_x_l0"].T, "weight_hh_l0": p[prefix + ".W_h_l0"].T,
                  "bias_ih_l0": p[prefix + ".b_l0"][0], "bias_hh_l0": p[prefix + ".b_l0"][1]}
        hs, hn = torch.func.functional_call(m, params, (x[None], h[None, None]))
        return hs[0], hn[0, 0]

    E = p["embed.W"]
    total, count = 0.0, 0
    for ctx, n, resp in zip(CONTEXT, N_TURNS, RESPONSE):
        us = []
        for row in ctx[len(ctx) - n:]:
            toks = torch.tensor(row[row != PAD])
            us.append(gru("utterance_encoder", E[toks], torch.zeros(5, dtype=torch.float64))[1])
        if model.context_rnn:
            c = gru("context_encoder", torch.stack(us), torch.zeros(6, dtype=torch.float64))[1]
        else:
            c = us[-1]
        s0 = torch.tanh(c @ p["decoder_init.W"] + p["decoder_init.b"])
        resp = resp[resp != PAD]
        x = torch.cat([E[torch.tensor(resp[:-1])], c[None].expand(len(resp) - 1, -1)], dim=1)
        hs, _ = gru("decoder", x, s0)
        logits = hs @ p["out.W"] + p["out.b"]
        total = total + torch.nn.functional.cross_entropy(logits, torch.tensor(resp[1:]), reduction="sum")
        count += len(resp) - 1
    loss = total / count
    loss.backward()
    return loss.item(), {k: v.grad for k, v in p.items()}


@pytest.mark.parametrize("context_rnn", [True, False])
def test_loss_and_every_gradient_match_torch(context_rnn):
    model = _hred(context_rnn, seed=1)
    model.zero_grad()
    loss = model.loss(CONTEXT, N_TURNS, RESPONSE)
    loss.backward()
    want, grads = _torch_hred_loss(model)
    assert loss.item() == pytest.approx(want, abs=1e-12)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad, grads[name].numpy(), atol=1e-10, err_msg=name)


def test_vhred_loss_gradient_matches_finite_differences():
    model = _vhred(seed=2, word_dropout=0.3)
    # the same seed on every call: the same dropped words and the same ε, so the loss is one function
    loss = lambda: model.loss(CONTEXT, N_TURNS, RESPONSE, kl_weight=0.7, rng=5)  # noqa: E731
    model.zero_grad()
    loss().backward()
    pick = np.random.default_rng(0)
    for name, p in model.named_parameters():
        flat = p.data.reshape(-1)
        grad = p.grad.reshape(-1)
        for j in pick.choice(flat.size, size=min(6, flat.size), replace=False):
            old = flat[j]
            flat[j] = old + 1e-6
            up = loss().item()
            flat[j] = old - 1e-6
            down = loss().item()
            flat[j] = old
            numeric = (up - down) / 2e-6
            assert abs(grad[j] - numeric) <= 1e-7 + 1e-5 * abs(numeric), (name, j, grad[j], numeric)


def _pad_front_and_end(context, n_turns, response, rows=2, tokens=3):
    N, U, L = context.shape
    big = np.zeros((N, U + rows, L + tokens), np.int64)
    big[:, rows:, :L] = context
    return big, n_turns, np.pad(response, ((0, 0), (0, tokens)))


@pytest.mark.parametrize("make", [_hred, _vhred])
def test_padding_rows_at_the_front_and_pads_at_the_end_do_not_change_the_loss(make):
    model = make(seed=3)
    base = model.loss(CONTEXT, N_TURNS, RESPONSE, rng=0).item()
    padded = model.loss(*_pad_front_and_end(CONTEXT, N_TURNS, RESPONSE), rng=0).item()
    assert padded == pytest.approx(base, abs=1e-13)

    # HRED: each dialogue alone gives its share of the batch's summed NLL (nothing leaks across the batch)
    if make is _hred:
        total, tokens = model.nll(CONTEXT, N_TURNS, RESPONSE)
        parts = [model.nll(CONTEXT[n:n + 1, 3 - N_TURNS[n]:], N_TURNS[n:n + 1], RESPONSE[n:n + 1]) for n in range(3)]
        assert sum(p[0] for p in parts) == pytest.approx(total, abs=1e-12)
        assert sum(p[1] for p in parts) == tokens


def test_an_earlier_turn_changes_the_context_and_an_empty_one_does_not():
    model = _hred(seed=4)
    c = model.encode_context(CONTEXT, N_TURNS).data
    other = CONTEXT.copy()
    other[2, 0, 0] = 8  # the oldest turn of dialogue 2
    c2 = model.encode_context(other, N_TURNS).data
    assert np.array_equal(c[:2], c2[:2]) and not np.allclose(c[2], c2[2])
    baseline = _hred(context_rnn=False, seed=4)
    np.testing.assert_array_equal(baseline.encode_context(CONTEXT, N_TURNS).data,
                                  baseline.encode_context(other, N_TURNS).data)  # sees the previous turn only


def test_kl_is_zero_when_the_posterior_equals_the_prior():
    model = _vhred(seed=5)
    H_c = 6
    model.posterior_hidden.W.data[:] = 0
    model.posterior_hidden.W.data[:H_c] = model.prior_hidden.W.data  # ignore the response: q(z|c, r) = p(z|c)
    model.posterior_hidden.b.data[:] = model.prior_hidden.b.data
    for q, p in ((model.posterior_mu, model.prior_mu), (model.posterior_log_var, model.prior_log_var)):
        q.W.data[:], q.b.data[:] = p.W.data, p.b.data
    kl = model.terms(CONTEXT, N_TURNS, RESPONSE, rng=0).kl.data
    np.testing.assert_allclose(kl, 0.0, atol=1e-14)
    assert model.loss(CONTEXT, N_TURNS, RESPONSE, kl_weight=1.0, rng=0).item() == pytest.approx(
        model.loss(CONTEXT, N_TURNS, RESPONSE, kl_weight=0.0, rng=0).item(), abs=1e-13)


def test_word_dropout_rate_seeding_and_eval_mode():
    model = _vhred(word_dropout=0.25)
    r = np.random.default_rng(0)
    resp = np.concatenate([np.full((400, 1), BOS), r.integers(4, V, (400, 30)), np.full((400, 1), EOS),
                           np.zeros((400, 5), np.int64)], axis=1)
    a = model.decoder_inputs(resp, rng=1)
    assert (a[:, 0] == BOS).all() and (a[:, 32:] == PAD).all()  # <bos> and padding never dropped
    rate = (a[:, 1:32] == UNK).mean()
    assert abs(rate - 0.25) < 0.01, rate  # 12 400 Bernoulli(0.25) draws: sd 0.004
    np.testing.assert_array_equal(a, model.decoder_inputs(resp, rng=1))
    model.eval()
    np.testing.assert_array_equal(model.decoder_inputs(resp, rng=1), resp[:, :-1])


def test_linear_kl_weight():
    assert [linear_kl_weight(s, 4) for s in (0, 1, 2, 4, 9)] == [0.0, 0.25, 0.5, 1.0, 1.0]
    assert linear_kl_weight(0, 0) == 1.0
    with pytest.raises(ConfigError, match="anneal_steps must be an int >= 0"):
        linear_kl_weight(1, -1)


@pytest.mark.parametrize("make", [_hred, _vhred])
def test_reply_is_deterministic_and_stops_at_eos_or_max_len(make):
    model = make(seed=6)
    model.out.b.data[:] = 0
    model.out.b.data[EOS] = -100.0  # <eos> never wins: every reply runs to max_len
    greedy = model.reply(CONTEXT, N_TURNS, max_len=6, rng=0)
    assert greedy == model.reply(CONTEXT, N_TURNS, max_len=6, rng=0)
    assert [len(g) for g in greedy] == [6, 6, 6]
    assert model.reply(CONTEXT, N_TURNS, method="sample", top_k=1, max_len=6, rng=0) == greedy
    assert model.reply(CONTEXT, N_TURNS, method="beam", beam=1, max_len=6, rng=0) == greedy
    sampled = model.reply(CONTEXT, N_TURNS, method="sample", temperature=2.0, max_len=6, rng=3)
    assert sampled == model.reply(CONTEXT, N_TURNS, method="sample", temperature=2.0, max_len=6, rng=3)
    assert all(t not in s for s in sampled for t in (PAD, BOS, EOS))
    model.out.b.data[EOS] = 100.0  # <eos> always wins
    for method in ("greedy", "sample", "beam"):
        assert model.reply(CONTEXT, N_TURNS, method=method, max_len=6, rng=0) == [[], [], []]


def test_beam_search_finds_a_reply_at_least_as_probable_as_greedy():
    model = _hred(seed=7)
    model.out.b.data[EOS] += 2.0  # short replies, so both finish

    def logp(n, reply):
        resp = np.array([[BOS] + reply + [EOS]])
        total, _ = model.nll(CONTEXT[n:n + 1], N_TURNS[n:n + 1], resp)
        return -total

    greedy = model.reply(CONTEXT, N_TURNS, max_len=8)
    beam = model.reply(CONTEXT, N_TURNS, method="beam", beam=4, max_len=8)
    for n in range(3):
        assert logp(n, beam[n]) >= logp(n, greedy[n]) - 1e-12


def _two_back_task(rng, N=32):
    """U = 2 turns ``a <eos>``, ``b <eos>``; the response is ``<bos> a <eos>``: it depends on the turn two back."""
    a, b = rng.integers(4, 8, N), rng.integers(4, 8, N)
    context = np.zeros((N, 2, 2), np.int64)
    context[:, 0] = np.stack([a, np.full(N, EOS)], 1)
    context[:, 1] = np.stack([b, np.full(N, EOS)], 1)
    return context, np.full(N, 2), np.stack([np.full(N, BOS), a, np.full(N, EOS)], 1)


def test_hred_learns_what_the_previous_utterance_alone_cannot_tell():
    losses = {}
    for context_rnn in (True, False):
        model = HRED(8, 8, 16, 16, 16, context_rnn=context_rnn, rng=0)
        opt = optim.Adam(model.parameters(), lr=0.02)
        data = np.random.default_rng(1)
        for _ in range(100):
            model.zero_grad()
            loss = model.loss(*_two_back_task(data))
            loss.backward()
            opt.step()
        model.eval()
        losses[context_rnn] = model.loss(*_two_back_task(np.random.default_rng(2), 256)).item()
    # the baseline cannot beat a uniform guess of a among 4 (log 4 / 2 tokens = 0.69 nats per token)
    assert losses[False] > 0.6
    assert losses[True] < 0.3, losses


def test_bad_inputs():
    with pytest.raises(ConfigError, match="HRED: word_dropout must be a number in"):
        HRED(V, word_dropout=1.0)
    with pytest.raises(ConfigError, match="HRED: eos_id must be an int in"):
        HRED(5, eos_id=5)
    with pytest.raises(ConfigError, match="VHRED: latent must be an int >= 1"):
        VHRED(V, latent=0)
    model = _hred()
    with pytest.raises(ShapeError, match=r"HRED: context must be \(N, U, L\) token ids, got shape \(3, 4\)"):
        model.loss(CONTEXT[:, 0], N_TURNS, RESPONSE)
    with pytest.raises(ShapeError, match=r"n_turns must be \(N,\) == \(3,\) integers in \[1, U\] = \[1, 3\]"):
        model.loss(CONTEXT, np.array([0, 2, 3]), RESPONSE)
    with pytest.raises(DataError, match="context row 0 must hold its 2 turns in the LAST rows"):
        model.loss(CONTEXT, np.array([2, 2, 3]), RESPONSE)
    with pytest.raises(DataError, match="found a pad before a token"):
        bad = CONTEXT.copy()
        bad[0, 2] = [5, 0, 3, 0]
        model.loss(bad, N_TURNS, RESPONSE)
    with pytest.raises(DataError, match=r"response must start with <bos> = 2"):
        model.loss(CONTEXT, N_TURNS, RESPONSE[:, 1:])
    with pytest.raises(ShapeError, match=r"response must be \(N, T\) == \(3, >= 2\)"):
        model.loss(CONTEXT, N_TURNS, RESPONSE[:2])
    with pytest.raises(DataError, match=r"context ids must lie in \[0, V\) = \[0, 10\)"):
        model.loss(CONTEXT + 10, N_TURNS, RESPONSE)
    with pytest.raises(ConfigError, match="HRED.reply: method must be one of 'greedy', 'sample', 'beam'"):
        model.reply(CONTEXT, N_TURNS, method="nucleus")
    with pytest.raises(ConfigError, match="HRED.reply: top_k must be an int in"):
        model.reply(CONTEXT, N_TURNS, top_k=11)
    with pytest.raises(ConfigError, match="HRED.reply: temperature must be a number in"):
        model.reply(CONTEXT, N_TURNS, temperature=0)
    with pytest.raises(ConfigError, match="VHRED.loss: kl_weight must be a number in"):
        _vhred().loss(CONTEXT, N_TURNS, RESPONSE, kl_weight=2.0)
