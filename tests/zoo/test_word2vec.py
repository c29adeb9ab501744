from pathlib import Path

import numpy as np
import pytest

from glassnet.errors import ConfigError, ShapeError
from glassnet.text import Vocabulary
from glassnet.zoo.word2vec import (
    Word2Vec,
    WordVectors,
    cbow_windows,
    sgd_step,
    skipgram_pairs,
    subsample,
    train_word2vec,
)

SHARED = Path("/work/shared/data")


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_fast_sgd_step_equals_autograd_step(mode):
    rng = np.random.default_rng(0)
    V, E, N, C, k = 6, 3, 5, 4, 2  # small V: repeated rows in the batch are certain
    model = Word2Vec(V, E, mode, rng=1).to(np.float64)
    model.W_out.data[...] = rng.standard_normal((V, E))  # W_out starts at 0; make the step non-trivial
    inputs = rng.integers(0, V, N) if mode == "skipgram" else rng.integers(0, V, (N, C))
    mask = None if mode == "skipgram" else rng.random((N, C)) < 0.7
    targets, negatives = rng.integers(0, V, N), rng.integers(0, V, (N, k))
    W_in, W_out = model.W_in.data.copy(), model.W_out.data.copy()
    loss = model(inputs, targets, negatives, mask, reduction="sum")
    loss.backward()
    lr = 0.1
    fast = sgd_step(model, inputs, targets, negatives, lr, mask, cbow_update="exact")
    assert fast == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(model.W_in.data, W_in - lr * model.W_in.grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.W_out.data, W_out - lr * model.W_out.grad, rtol=1e-12, atol=1e-14)


def test_pairs_and_windows_stay_in_sentences():
    ids = np.array([10, 11, 12, 20, 21])
    sent = np.array([0, 0, 0, 1, 1])
    c, x = skipgram_pairs(ids, sent, window=2, rng=np.random.default_rng(0))
    pairs = set(zip(c.tolist(), x.tolist()))
    assert all((a // 10) == (b // 10) for a, b in pairs)  # never across sentences
    assert {(20, 21), (21, 20), (10, 11), (11, 10)} <= pairs  # distance 1 is always inside the window
    ctx, mask, centres = cbow_windows(ids, sent, window=2, rng=np.random.default_rng(0))
    assert ctx.shape == (5, 4) and mask.shape == (5, 4)
    for row, m, c0 in zip(ctx, mask, centres):
        assert all(w // 10 == c0 // 10 for w in row[m])


def test_subsample_formula():
    counts = np.array([1000.0, 10.0])
    keep = subsample(np.zeros(200_000, np.int64), counts, 1e-2, np.random.default_rng(0))
    f = 1000 / 1010
    assert keep.mean() == pytest.approx((np.sqrt(f / 1e-2) + 1) * 1e-2 / f, abs=0.005)
    assert subsample(np.ones(10, np.int64), counts, 0.0, np.random.default_rng(0)).all()


def test_word_vectors_queries():
    vocab = Vocabulary(["man", "woman", "king", "queen", "apple"])
    vecs = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]], float)
    wv = WordVectors(vocab, vecs)
    assert wv.similarity("man", "apple") == pytest.approx(-1.0)
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert wv.most_similar("man", 1)[0][0] in ("woman", "king")
    with pytest.raises(ConfigError, match="'dog' is not in the vocabulary"):
        wv.most_similar("dog")
    with pytest.raises(ShapeError, match=r"vectors must be \(V, E\) with V == 5"):
        WordVectors(vocab, vecs[:4])


@pytest.mark.skipif(not (SHARED / "ptb").exists(), reason="needs /work/shared/data/ptb")
def test_skipgram_learns_related_words_on_ptb():
    from glassnet.data.datasets import load_ptb

    sents = load_ptb("valid", root=SHARED, download=False)
    vocab = Vocabulary.build(sents, min_freq=5, specials=())
    ids = [vocab.encode([w for w in s if w in vocab]) for s in sents]
    model = Word2Vec(len(vocab), 50, "skipgram", rng=0)
    stats = train_word2vec(model, ids, vocab.counts, epochs=2, batch_size=2048, rng=0)
    assert stats.losses[1] < stats.losses[0]
    wv = WordVectors(vocab, model.W_in.data)
    # numbers of a kind cluster: billion is among million's 5 nearest neighbours
    assert "billion" in [w for w, _ in wv.most_similar("million", 5)]


def test_bad_inputs():
    with pytest.raises(ConfigError, match="mode must be one of skipgram, cbow, got 'glove'"):
        Word2Vec(5, 2, "glove")
    m = Word2Vec(5, 2)
    with pytest.raises(ConfigError, match="window must be an int >= 1, got 0"):
        train_word2vec(m, [np.array([0, 1])], np.ones(5), window=0)
    with pytest.raises(ConfigError, match="cbow_update must be 'word2vec' or 'exact'"):
        train_word2vec(m, [np.array([0, 1])], np.ones(5), cbow_update="mean")
    with pytest.raises(ShapeError, match=r"counts must be \(V,\) with V == 5, got \(4,\)"):
        train_word2vec(m, [np.array([0, 1])], np.ones(4))


def test_cbow_word2vec_update_is_undivided():
    model = Word2Vec(4, 2, "cbow", rng=0).to(np.float64)
    model.W_out.data[...] = 1.0
    inputs, mask = np.array([[0, 1]]), np.array([[True, True]])
    before = model.W_in.data.copy()
    sgd_step(model, inputs, np.array([2]), np.array([[3]]), 0.1, mask)  # default: word2vec.c's update
    d_word2vec = model.W_in.data - before
    model.W_in.data[...] = before
    model.W_out.data[...] = 1.0
    sgd_step(model, inputs, np.array([2]), np.array([[3]]), 0.1, mask, cbow_update="exact")
    np.testing.assert_allclose(d_word2vec[:2], 2 * (model.W_in.data - before)[:2], rtol=1e-12)
