"""Quick configurations of the seq2seq, attention and word2vec experiments, asserting their claims on seed 0."""

import builtins
import json
from pathlib import Path

import pytest

from glassnet.lab import get_experiment, run_experiment

SHARED = Path("/work/shared/data")


def run_quick(name, tmp_path, **kwargs):
    r = run_experiment(get_experiment(name), quick=True, out_dir=tmp_path, seed=0, verbose=False, printer=None,
                       **kwargs)
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["name"] == name and data["verdict"] == r.verdict
    return r


def test_date_format_quick(tmp_path):
    r = run_quick("date-format", tmp_path)
    assert r.verdict == "supported", r.metrics
    assert r.metrics["attention_exact_match"] >= 0.9 > r.metrics["plain_exact_match"]
    assert (tmp_path / "attention_heatmap.png").stat().st_size > 1000


def test_attention_length_quick(tmp_path):
    r = run_quick("attention-length", tmp_path)
    assert r.verdict == "supported", r.metrics
    assert r.metrics["plain_len16"] < r.metrics["plain_len4"]
    assert (tmp_path / "accuracy_vs_length.png").exists()


@pytest.mark.skipif(not (SHARED / "ptb").exists(), reason="needs /work/shared/data/ptb")
def test_word2vec_quick_agrees_with_gensim(tmp_path):
    pytest.importorskip("gensim")
    r = run_quick("word2vec", tmp_path, data_dir=SHARED)
    assert r.verdict == "supported", r.metrics
    assert r.metrics["ptb_skipgram_rho"] > 0.8


@pytest.mark.skipif(not (SHARED / "ptb").exists(), reason="needs /work/shared/data/ptb")
def test_word2vec_without_gensim_is_inconclusive(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_gensim(name, *args, **kwargs):
        if name.startswith("gensim"):
            raise ImportError("No module named 'gensim'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gensim)
    r = run_quick("word2vec", tmp_path, data_dir=SHARED, overrides={"modes": "skipgram", "max_lines": 300})
    assert r.verdict == "inconclusive"
    assert any("gensim is not installed" in n for n in r.notes)
