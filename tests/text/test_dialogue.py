"""DialogueCorpus: examples per response turn, the (N, U, L) / (N,) / (N, T) batch layout, seeded batches."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.errors import ConfigError, ShapeError
from glassnet.text import DialogueBatch, DialogueCorpus, Vocabulary, dialogue_vocabulary, word_tokenize

DIALOGUES = [["a b c", "d e", "f", "g h"], ["b b", "a"], ["lonely"]]


@pytest.fixture
def vocab():
    return dialogue_vocabulary(DIALOGUES)


def ids(vocab, text):
    return [vocab.stoi[t] for t in text.split()]


def test_word_tokenize():
    assert word_tokenize("I'm at 11:30, OK?") == ["i'm", "at", "11", ":", "30", ",", "ok", "?"]
    assert word_tokenize("Don't", lower=False) == ["Don't"]
    with pytest.raises(ConfigError, match="str"):
        word_tokenize(["a"])


def test_one_example_per_response_turn(vocab):
    c = DialogueCorpus(DIALOGUES, vocab, max_turns=2, max_len=4)
    assert len(c) == 3 + 1 + 0  # turns t >= 1; a one-utterance dialogue gives none
    np.testing.assert_array_equal(c.dialogue_index, [0, 0, 0, 1])
    np.testing.assert_array_equal(c.turn_index, [1, 2, 3, 1])
    np.testing.assert_array_equal(c.n_turns, [1, 2, 2, 1])


def test_context_layout_most_recent_last_pad_rows_in_front(vocab):
    c = DialogueCorpus(DIALOGUES, vocab, max_turns=3, max_len=3)
    P, E = vocab.pad_id, vocab.eos_id
    b = c.batch(np.arange(len(c)))
    assert isinstance(b, DialogueBatch) and b.context.dtype == b.n_turns.dtype == b.response.dtype == np.int64
    assert b.context.shape == (4, 3, 3)
    # example 2: response "g h" (t = 3), context "a b c" (cut to 2 tokens + <eos>), "d e", "f"
    np.testing.assert_array_equal(b.context[2], [ids(vocab, "a b") + [E], ids(vocab, "d e") + [E],
                                                 ids(vocab, "f") + [E, P]])
    # example 0: one real row, two pad rows in FRONT
    np.testing.assert_array_equal(b.context[0], [[P, P, P], [P, P, P], ids(vocab, "a b") + [E]])
    np.testing.assert_array_equal(b.n_turns, [1, 2, 3, 1])
    B = vocab.bos_id
    # responses <bos> tokens <eos>, padded to the longest in the batch
    np.testing.assert_array_equal(b.response, [[B] + ids(vocab, "d e") + [E], [B] + ids(vocab, "f") + [E, P],
                                               [B] + ids(vocab, "g h") + [E], [B] + ids(vocab, "a") + [E, P]])
    one = c.batch([1])
    assert one.response.shape == (1, 3)  # T is the longest in THIS batch


def test_response_cap_keeps_eos_and_unknown_tokens_become_unk(vocab):
    c = DialogueCorpus([["x", "a b c d"]], vocab, max_turns=1, max_response_len=4)
    np.testing.assert_array_equal(c.batch([0]).response, [[vocab.bos_id] + ids(vocab, "a b") + [vocab.eos_id]])
    np.testing.assert_array_equal(c.context[0, 0, :2], [vocab.unk_id, vocab.eos_id])


def test_previous_only_is_one_turn(vocab):
    c = DialogueCorpus(DIALOGUES, vocab, previous_only=True, max_len=5)
    assert c.context.shape == (4, 1, 5) and (c.n_turns == 1).all()
    np.testing.assert_array_equal(c.context[2, 0, :2], ids(vocab, "f") + [vocab.eos_id])
    assert DialogueCorpus(DIALOGUES, vocab).max_turns == 3
    with pytest.raises(ConfigError, match="previous_only"):
        DialogueCorpus(DIALOGUES, vocab, previous_only=True, max_turns=2)


def test_batches_cover_once_seeded_and_reproducible(vocab):
    dialogues = [[f"w{i} w{j}" for j in range(4)] for i in range(10)]
    v = dialogue_vocabulary(dialogues)
    c = DialogueCorpus(dialogues, v, max_turns=2, max_len=4)
    first = [b.response for b in c.batches(7, rng=3)]
    again = [b.response for b in c.batches(7, rng=3)]
    assert [len(r) for r in first] == [7, 7, 7, 7, 2]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    seen = np.concatenate([r[:, 1] for r in first])  # the first token of each response
    expected = np.concatenate([b.response[:, 1] for b in c.batches(30, shuffle=False)])
    assert sorted(seen.tolist()) == sorted(expected.tolist()) and not np.array_equal(seen, expected)
    assert [len(b.response) for b in c.batches(7, rng=3, drop_last=True)] == [7, 7, 7, 7]
    g = np.random.default_rng(0)
    e1, e2 = (np.concatenate([b.response[:, 1] for b in c.batches(30, rng=g)]) for _ in range(2))
    assert not np.array_equal(e1, e2)  # a Generator moves on: epochs differ


def test_vocabulary_min_freq_and_specials():
    v = dialogue_vocabulary(DIALOGUES, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dialogues": "abc"}, ConfigError, "list of dialogues"),
    ({"dialogues": [["ok", 3]]}, ConfigError, r"dialogues\[0\]"),
    ({"max_len": 1}, ConfigError, "max_len"),
    ({"max_turns": 0}, ConfigError, "max_turns"),
    ({"max_response_len": 2}, ConfigError, "max_response_len"),
    ({"vocab": {"a": 1}}, ConfigError, "Vocabulary"),
    ({"vocab": Vocabulary(["a", "b"])}, ConfigError, "<pad>"),
])
def test_bad_inputs(vocab, kwargs, error, match):
    args = {"dialogues": DIALOGUES, "vocab": vocab, **kwargs}
    with pytest.raises(error, match=match):
        DialogueCorpus(**args)


def test_bad_batch_arguments(vocab):
    c = DialogueCorpus(DIALOGUES, vocab)
    with pytest.raises(ShapeError, match=r"\[0, 4\)"):
        c.batch([4])
    with pytest.raises(ShapeError, match="1-D"):
        c.batch([[0]])
    with pytest.raises(ConfigError, match="batch_size"):
        next(c.batches(0))
