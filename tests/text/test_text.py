from pathlib import Path

import numpy as np
import pytest

from glassnet.errors import ConfigError, DataError, ShapeError
from glassnet.text import JapaneseTokenizer, Vocabulary, corpus_bleu, pad_sequences, whitespace_tokenize

SHARED = Path("/work/shared/data")


def test_vocabulary_order_min_freq_encode_decode():
    sents = [["a", "b", "a"], ["c", "b", "a", "d"]]
    v = Vocabulary.build(sents, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.counts.tolist() == [0, 0, 0, 0, 3, 2]
    ids = v.encode(["a", "c", "b"], bos=True, eos=True)
    assert ids.dtype == np.int64 and ids.tolist() == [2, 4, 1, 5, 3]
    assert v.decode(ids) == ["a", "<unk>", "b"]
    assert v.decode([4, 3, 5]) == ["a"]  # stops at <eos>
    assert v.decode([4, 3, 5], strip=False) == ["a", "<eos>", "b"]
    # ties keep first appearance; max_size caps
    assert Vocabulary.build([["x", "y", "z"]], max_size=6).itos[4:] == ["x", "y"]


def test_vocabulary_without_specials_and_errors():
    v = Vocabulary.build([["a", "b"]], specials=())
    assert v.itos == ["a", "b"]
    with pytest.raises(DataError, match="unknown token 'c' and no <unk>"):
        v.encode(["c"])
    with pytest.raises(ConfigError, match="has no <eos> token"):
        _ = v.eos_id
    with pytest.raises(ConfigError, match="min_freq must be an int >= 1, got 0"):
        Vocabulary.build([["a"]], min_freq=0)
    with pytest.raises(ConfigError, match="tokens must be unique, 'a'"):
        Vocabulary(["a", "a"])
    with pytest.raises(ShapeError, match=r"ids must be in \[0, 2\), got 7"):
        v.decode([7])


def test_pad_sequences():
    ids, lengths = pad_sequences([np.array([5, 6, 7]), np.array([8])], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    ids, lengths = pad_sequences([np.array([5, 6, 7])], length=2)
    assert ids.tolist() == [[5, 6]] and lengths.tolist() == [2]
    with pytest.raises(ShapeError, match=r"seqs\[0\] must be 1-D"):
        pad_sequences([np.ones((2, 2), int)])


def test_whitespace_tokenize():
    assert whitespace_tokenize(" The  cat\tsat \n", lower=True) == ["the", "cat", "sat"]


def test_japanese_tokenizer_on_neko():
    pytest.importorskip("janome")
    tok = JapaneseTokenizer()
    assert tok("吾輩は猫である。") == ["吾輩", "は", "猫", "で", "ある", "。"]
    if (SHARED / "aozora" / "neko.txt").exists():
        from glassnet.data.datasets import load_neko

        lines = load_neko(root=SHARED, download=False)
        words = tok(lines[1])  # "　吾輩は猫である。"
        assert words[:3] == ["吾輩", "は", "猫"] and "　" not in words


def test_bleu_from_sacrebleu():
    hyp = [["the", "cat", "sat", "on", "the", "mat"], ["a", "b", "c", "d"]]
    assert corpus_bleu(hyp, hyp) == pytest.approx(100.0)
    import sacrebleu

    ref = [["the", "cat", "is", "on", "the", "mat"], ["a", "b", "c", "e"]]
    expected = sacrebleu.corpus_bleu(["the cat sat on the mat", "a b c d"], [["the cat is on the mat", "a b c e"]],
                                     tokenize="none").score
    assert corpus_bleu(hyp, ref) == pytest.approx(expected) and 0 < expected < 100
    with pytest.raises(ShapeError, match="2 hypotheses but 1 references"):
        corpus_bleu(hyp, ref[:1])
