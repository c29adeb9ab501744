"""Review of the seq2seq / word2vec / text parts: edge-case gradchecks and bad inputs that once slipped through."""

import numpy as np
import pytest

import glassnet.functional as F
from glassnet.errors import ConfigError, DataError, DTypeError, ShapeError
from glassnet.testing import gradcheck
from glassnet.text import Vocabulary, corpus_bleu
from glassnet.zoo.seq2seq import Seq2Seq
from glassnet.zoo.word2vec import Word2Vec, WordVectors, train_word2vec

SRC = np.array([[5, 6, 7, 8], [9, 5, 0, 0]])


# ------------------------------------------------------------------------- gradchecks the op tests do not cover
def test_gradcheck_additive_attention_with_some_rows_fully_masked():
    rng = np.random.default_rng(0)
    mask = rng.random((3, 2, 4)) < 0.5
    mask[0, 1] = False  # one query of the first sentence sees nothing, its other query does
    mask[1] = False  # a whole sentence fully masked
    mask[2, :, 0] = True

    def f(q, k, Wq, Wk, v):
        a = F.masked_softmax(F.additive_score(q, k, Wq, Wk, v), mask)
        return F.context_vectors(a, k)

    args = [rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 6)),
            rng.standard_normal((5, 6)), rng.standard_normal(6)]
    assert gradcheck(f, args)
    out = f(*args).data
    assert (out[1] == 0).all() and (out[0, 1] == 0).all() and np.isfinite(out).all()


def test_gradcheck_negative_sampling_negatives_all_equal_the_target():
    rng = np.random.default_rng(1)
    t = np.array([2, 0, 2])
    neg = np.stack([t] * 4, axis=1)  # every negative is the positive word itself
    for red in ("mean", "none"):
        assert gradcheck(lambda h, W, red=red: F.negative_sampling_loss(h, W, t, neg, reduction=red),
                         [rng.standard_normal((3, 2)), rng.standard_normal((3, 2))])


# ------------------------------------------------------------------------------------------ seq2seq bad input
def test_beam_search_rejects_bad_src_lengths_and_penalty():
    model = Seq2Seq(10, 12, 8, 16, attention="dot", rng=0)
    with pytest.raises(ShapeError, match=r"src must be \(N, S\) token ids, got shape \(3,\)"):
        model.beam_search(np.array([1, 2, 3]))
    with pytest.raises(ShapeError, match=r"src_lengths must be \(N,\) == \(2,\), got shape \(3,\)"):
        model.beam_search(SRC, np.array([4, 2, 3]))  # was silently ignoring the extra length
    with pytest.raises(ConfigError, match="length_penalty must be a finite number, got nan"):
        model.beam_search(SRC, length_penalty=float("nan"))


def test_loss_rejects_bad_tgt_shapes():
    model = Seq2Seq(10, 12, 8, 16, rng=0)
    with pytest.raises(ShapeError, match=r"Seq2Seq.loss: tgt must be \(N, T\+1\) == \(2, >= 2\).*got shape \(3,\)"):
        model.loss(SRC, np.array([2, 3, 4]))
    with pytest.raises(ShapeError, match=r"got shape \(1, 3\)"):
        model.loss(SRC, np.array([[2, 3, 4]]))


def test_beam_wider_than_vocabulary_and_eos_first():
    model = Seq2Seq(10, 5, 4, 8, attention="general", rng=0)
    out = model.beam_search(SRC, beam=9, max_len=4)  # beam > V = 5
    assert len(out) == 2 and all(len(o) <= 4 for o in out)
    model.out.b.data[:] = 0
    model.out.b.data[3] = 100.0  # <eos> first, for every candidate
    assert model.beam_search(SRC[:1], beam=3, max_len=4) == [[]]


# --------------------------------------------------------------------------------------------- text bad input
def test_vocabulary_and_bleu_reject_strings_where_token_lists_are_due():
    with pytest.raises(ConfigError, match=r"sentences\[1\] is a str \('b c'\)"):
        Vocabulary.build([["a"], "b c"])
    v = Vocabulary.build([["a", "b"]])
    with pytest.raises(ConfigError, match="Vocabulary.encode: tokens must be a token list, got a str"):
        v.encode("a b")
    with pytest.raises(DTypeError, match="Vocabulary.decode: ids must be integers, got dtype float64"):
        v.decode([1.5])
    assert v.decode([]) == []
    with pytest.raises(ConfigError, match=r"corpus_bleu: hypotheses must be token lists, hypotheses\[0\] is a str"):
        corpus_bleu(["the cat"], [["the", "cat"]])
    with pytest.raises(DataError, match="corpus_bleu: no sentences to score"):
        corpus_bleu([], [])


# ----------------------------------------------------------------------------------------- word2vec bad input
def test_word_vectors_never_return_the_query_words_and_check_topn():
    wv = WordVectors(Vocabulary(["x"]), np.ones((1, 3)))
    assert wv.most_similar("x") == []  # was [('x', -inf)]
    wv3 = WordVectors(Vocabulary(["a", "b", "c"]), np.eye(3))
    assert [w for w, _ in wv3.analogy("a", "b", "c", topn=3)] == []
    assert [w for w, _ in wv3.most_similar("a", topn=5)] == ["b", "c"]
    with pytest.raises(ConfigError, match="topn must be an int >= 1, got -1"):
        wv3.most_similar("a", topn=-1)  # was the V - 1 nearest


def test_train_word2vec_rejects_out_of_range_ids_and_empty_corpus():
    m = Word2Vec(3, 4, rng=0)
    with pytest.raises(ShapeError, match=r"sentences\[0\] must be a 1-D integer id array with ids in \[0, 3\)"):
        train_word2vec(m, [np.array([0, 1, -1, 2])], np.ones(3), sample=0)  # -1 wrapped to the last row
    with pytest.raises(ShapeError, match=r"sentences\[1\] must be a 1-D integer id array"):
        train_word2vec(m, [np.array([0]), np.array([0.5])], np.ones(3), sample=0)
    with pytest.raises(DataError, match="train_word2vec: the corpus is empty"):
        train_word2vec(m, [], np.ones(3))
