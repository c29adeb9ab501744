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
    steps = r.metrics["attention_steps_to_target"]
    assert steps is not None and steps <= 200, r.metrics
    assert r.metrics["plain_steps_to_target"] is None or r.metrics["plain_steps_to_target"] > steps
    assert r.metrics["attention_curve"][str(steps)] >= 0.9
    assert (tmp_path / "attention_heatmap.png").stat().st_size > 1000
    assert (tmp_path / "learning_curves.png").stat().st_size > 1000


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


needs_enja = pytest.mark.skipif(not (SHARED / "small_parallel_enja").exists(),
                                reason="needs /work/shared/data/small_parallel_enja")


@needs_enja
def test_translate_enja_resumes_bit_identically(tmp_path, monkeypatch):
    import numpy as np

    import glassnet.lab.seq2seq.translate_enja as module
    from glassnet.train import load_checkpoint

    whole = run_quick("translate-enja", tmp_path / "whole", data_dir=SHARED)
    assert whole.metrics["resumed_from_step"] == 0
    assert whole.metrics["bleu"] > whole.metrics["untrained_bleu"]
    assert whole.metrics["retrieval_bleu"] > 5  # the baseline is a real one
    assert any(n.startswith("out: ") for n in whole.notes)
    assert (tmp_path / "whole" / "training_loss.png").stat().st_size > 1000

    # interrupt right after the checkpoint of step 20 (of 40), as a Ctrl-C would
    real_save = module.save_checkpoint

    def save_then_interrupt(path, ck):
        real_save(path, ck)
        if ck.step == 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_quick("translate-enja", tmp_path / "cut", data_dir=SHARED)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.npz").step == 20
    monkeypatch.setattr(module, "save_checkpoint", real_save)
    resumed = run_quick("translate-enja", tmp_path / "cut", data_dir=SHARED, resume=True)
    assert resumed.metrics["resumed_from_step"] == 20
    a = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    b = load_checkpoint(tmp_path / "cut" / "checkpoint.npz")
    assert a.step == b.step == 40
    for name in a.model:
        np.testing.assert_array_equal(a.model[name], b.model[name], err_msg=name)
    # without --resume a finished run's checkpoint is not reused: the run starts again from step 0
    again = run_quick("translate-enja", tmp_path / "cut", data_dir=SHARED)
    assert again.metrics["resumed_from_step"] == 0 and again.metrics["bleu"] == whole.metrics["bleu"]
    np.testing.assert_array_equal(a.extra["losses"], b.extra["losses"])
    assert resumed.metrics["bleu"] == whole.metrics["bleu"]


@needs_enja
def test_translate_enja_refuses_a_checkpoint_of_other_settings(tmp_path):
    from glassnet.errors import ConfigError
    from glassnet.lab import get_experiment, run_experiment

    exp = get_experiment("translate-enja")
    tiny = {"steps": 2, "checkpoint_every": 1, "train_pairs": 200, "dev_pairs": 5}
    run_experiment(exp, quick=True, out_dir=tmp_path, data_dir=SHARED, verbose=False, printer=None, overrides=tiny)
    with pytest.raises(ConfigError, match="different settings.*lr"):
        run_experiment(exp, quick=True, out_dir=tmp_path, data_dir=SHARED, verbose=False, printer=None,
                       overrides={**tiny, "lr": 0.1}, resume=True)
    with pytest.raises(ConfigError, match="already taken 2 steps, more than steps=1"):
        run_experiment(exp, quick=True, out_dir=tmp_path, data_dir=SHARED, verbose=False, printer=None,
                       overrides={**tiny, "steps": 1}, resume=True)
    with pytest.raises(ConfigError, match="steps must be >= 1"):
        run_experiment(exp, quick=True, data_dir=SHARED, verbose=False, printer=None, overrides={"steps": 0})


def test_translate_enja_longer_budget_continues_exactly(tmp_path):
    import numpy as np

    from glassnet.lab import get_experiment, run_experiment
    from glassnet.train import load_checkpoint

    exp = get_experiment("translate-enja")
    tiny = {"checkpoint_every": 1, "train_pairs": 200, "dev_pairs": 5}
    kw = dict(quick=True, data_dir=SHARED, verbose=False, printer=None)
    run_experiment(exp, out_dir=tmp_path / "a", overrides={**tiny, "steps": 2}, **kw)
    extended = run_experiment(exp, out_dir=tmp_path / "a", overrides={**tiny, "steps": 4}, resume=True, **kw)
    run_experiment(exp, out_dir=tmp_path / "b", overrides={**tiny, "steps": 4}, **kw)
    assert extended.metrics["resumed_from_step"] == 2
    a, b = load_checkpoint(tmp_path / "a" / "checkpoint.npz"), load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert a.step == b.step == 4
    for k in b.model:
        assert np.array_equal(a.model[k], b.model[k]), k
