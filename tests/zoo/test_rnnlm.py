import numpy as np
import pytest

import glassnet.functional as F
from glassnet.errors import ConfigError, ShapeError
from glassnet.zoo.rnnlm import RNNLM, batchify, perplexity


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_forward_shapes_and_state(cell):
    model = RNNLM(11, 5, 7, cell=cell, num_layers=2, rng=0)
    tokens = np.random.default_rng(1).integers(0, 11, size=(3, 4))
    logits, state = model(tokens)
    assert logits.shape == (3, 4, 11) and logits.dtype == np.float32
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 7)
    # feeding the sequence in two halves with the state threaded gives the same logits
    a, s = model(tokens[:, :2])
    b, _ = model(tokens[:, 2:], s)
    np.testing.assert_allclose(np.concatenate([a.data, b.data], axis=1), logits.data, rtol=1e-5, atol=1e-6)


def test_training_step_lowers_loss_and_reaches_every_parameter():
    from glassnet.optim import Adam

    model = RNNLM(6, 4, 8, cell="lstm", rng=2)
    stream = np.tile(np.arange(6), 20)  # a periodic sequence a net can learn
    rows = batchify(stream, 4)
    x, y = rows[:, :-1], rows[:, 1:]
    opt = Adam(list(model.parameters()), lr=0.05)
    first = None
    for _ in range(60):
        loss = F.softmax_cross_entropy(model(x)[0], y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        opt.step()
    assert loss.item() < 0.1 * first
    assert perplexity(model, stream, batch_size=2, bptt=5) < 1.2
    assert model.generate([0], 6, temperature=0) == [1, 2, 3, 4, 5, 0]


def test_generate_is_seeded_restores_mode_and_keeps_carried_state():
    model = RNNLM(9, 4, 6, cell="gru", stateful=True, dropout=0.2, rng=3)
    model(np.zeros((1, 3), dtype=np.int64))
    carried = model.rec._state[0].data.copy()
    a = model.generate([1, 2], 10, temperature=1.0, rng=5)
    b = model.generate([1, 2], 10, temperature=1.0, rng=5)
    assert a == b and len(a) == 10 and all(0 <= t < 9 for t in a)
    assert model.training and model.rec.stateful
    np.testing.assert_array_equal(model.rec._state[0].data, carried)


def test_untrained_perplexity_is_near_vocab_size():
    V = 50
    model = RNNLM(V, 8, 8, rng=4)
    model.out.W.data[...] = 0  # uniform predictions
    model.out.b.data[...] = 0
    assert perplexity(model, np.arange(400) % V, batch_size=4, bptt=7) == pytest.approx(V, rel=1e-5)


def test_bad_input():
    with pytest.raises(ConfigError, match="RNNLM: cell must be one of rnn, lstm, gru, got 'tcn'"):
        RNNLM(5, 2, 3, cell="tcn")
    model = RNNLM(5, 2, 3, rng=0)
    with pytest.raises(ShapeError, match=r"RNNLM: tokens must be \(N, T\) ints, got shape \(4,\)"):
        model(np.zeros(4, dtype=np.int64))
    with pytest.raises(ConfigError, match=r"prefix ids must be in \[0, 5\), got 0..7"):
        model.generate([0, 7], 3)
    with pytest.raises(ConfigError, match="prefix must be a non-empty"):
        model.generate([], 3)
    with pytest.raises(ConfigError, match="n must be an int >= 0, got -1"):
        model.generate([1], -1)
    with pytest.raises(ConfigError, match="temperature must be >= 0"):
        model.generate([1], 2, temperature=-1.0)
    with pytest.raises(ConfigError, match="batchify: 5 tokens are too few for batch_size 4"):
        batchify(np.arange(5), 4)
