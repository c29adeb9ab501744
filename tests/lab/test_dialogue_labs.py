"""The dialogue experiments: their helpers on a toy corpus, and both quick configurations on seed 0 with SGD."""

import json
from pathlib import Path

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.lab import experiments, get_experiment, run_experiment
from glassnet.lab.dialogue.common import (
    DialogueSplits,
    build_model,
    conversation_lines,
    corpora,
    dev_perplexity,
    generate_replies,
    save_dialogue_model,
    train_dialogue_model,
    trimmed,
)
from glassnet.text import dialogue_vocabulary

SHARED = Path("/work/shared/data")
TOPIC = "Dialogue"
needs_sgd = pytest.mark.skipif(not (SHARED / "sgd" / "dev").is_dir(), reason="needs /work/shared/data/sgd")

TOY = [
    ["hello there", "hi , how can i help ?", "i want a table for two", "what time ?", "at seven please"],
    ["book a flight to paris", "when do you leave ?", "on monday", "done , anything else ?"],
    ["what is the weather", "it is sunny today", "thanks a lot"],
    ["play some music", "which artist ?", "any jazz", "playing jazz now", "thank you", "you are welcome"],
]


def _splits():
    return DialogueSplits(TOY, TOY[:2], dialogue_vocabulary(TOY))


def _no_progress(total=None, desc=""):
    class Bar:
        def update(self, n):
            pass

        def close(self):
            pass

    return Bar()


SIZES = {"embed": 8, "hidden": 12, "latent": 4, "word_dropout": 0.25}


# ------------------------------------------------------------------------------------------------- helpers
def test_corpora_line_up_across_context_views():
    s = _splits()
    (tr3, dv3), (tr1, dv1) = (corpora(s, max_turns=u, max_len=6, max_response_len=8) for u in (3, 1))
    assert tr3.context.shape[1:] == (3, 6) and tr1.context.shape[1:] == (1, 6)
    assert len(tr3) == len(tr1) == sum(len(d) - 1 for d in TOY)
    assert np.array_equal(tr3.turn_index, tr1.turn_index) and np.array_equal(dv3.dialogue_index, dv1.dialogue_index)
    assert all(np.array_equal(a, b) for a, b in zip(tr3.responses, tr1.responses))
    assert np.array_equal(tr3.context[:, -1], tr1.context[:, 0])  # the baseline's one row is HRED's last


def test_trimmed_cuts_only_padding_and_keeps_the_loss():
    s = _splits()
    train, _ = corpora(s, max_turns=3, max_len=12, max_response_len=10)
    b = train.batch(np.arange(6))
    t = trimmed(b, train.pad_id)
    width = max(len(u.split()) for d in TOY[:2] for u in d[:4]) + 1  # longest context utterance + <eos>
    assert t.context.shape == (6, 3, width) and width < b.context.shape[2]
    assert (b.context[:, :, width:] == train.pad_id).all()
    assert np.array_equal(t.response, b.response) and np.array_equal(t.n_turns, b.n_turns)
    model, _ = build_model("hred", s.vocab, SIZES, 0)
    assert model.loss(*t).item() == pytest.approx(model.loss(*b).item(), rel=1e-6)


def test_dev_perplexity_is_exp_of_the_summed_nll_and_vhred_adds_the_kl():
    s = _splits()
    _, dev = corpora(s, max_turns=3, max_len=8, max_response_len=8)
    model, _ = build_model("hred", s.vocab, SIZES, 1)
    got = dev_perplexity(model, dev, np.random.default_rng(0), batch_size=3)
    model.eval()
    nll, tokens = model.nll(*dev.batch(np.arange(len(dev))))
    assert got["perplexity"] == pytest.approx(np.exp(nll / tokens), rel=1e-5)
    assert got["kl_per_utterance"] == 0 and got["reconstruction_perplexity"] == got["perplexity"]
    vhred, _ = build_model("vhred", s.vocab, SIZES, 1)
    assert vhred.training
    v = dev_perplexity(vhred, dev, np.random.default_rng(0))
    assert vhred.training  # the mode is restored
    assert v["kl_per_utterance"] > 0
    assert v["perplexity"] == pytest.approx(v["reconstruction_perplexity"]
                                            * np.exp(v["kl_per_utterance"] * len(dev) / tokens), rel=1e-6)
    again = dev_perplexity(vhred, dev, np.random.default_rng(0))
    assert again == v  # the same ε, no word dropout in eval mode


@pytest.mark.parametrize("kind", ["seq2seq", "vhred"])
def test_train_dialogue_model_is_seeded_evaluates_on_schedule_and_learns(kind):
    s = _splits()
    train, dev = corpora(s, max_turns=1 if kind == "seq2seq" else 3, max_len=8, max_response_len=8)

    def fit():
        model, _ = build_model(kind, s.vocab, SIZES, np.random.default_rng(3))
        return train_dialogue_model(model, train, dev, steps=25, batch_size=4, lr=0.02, max_norm=5.0,
                                    order_rng=np.random.default_rng(4), eval_rng=np.random.default_rng(5),
                                    eval_every=10, progress=_no_progress, desc=kind, kl_anneal_steps=10)

    a, b = fit(), fit()
    assert [c["step"] for c in a["curve"]] == [0, 10, 20, 25]  # 25 steps span 5 epochs of 4 full batches
    assert a["train_loss"] == b["train_loss"] and a["curve"] == b["curve"]
    assert len(a["train_loss"]) == 25 and a["parameters"] > 0 and a["seconds_per_step"] > 0
    assert a["curve"][-1]["perplexity"] < 0.5 * a["curve"][0]["perplexity"]
    assert len(a["train_kl"]) == (25 if kind == "vhred" else 0)
    if kind == "vhred":
        assert all(k >= 0 for k in a["train_kl"]) and a["curve"][-1]["kl_per_utterance"] > 0


def test_generate_replies_match_the_model_and_conversation_lines_show_them():
    s = _splits()
    _, dev = corpora(s, max_turns=3, max_len=8, max_response_len=8)
    model, _ = build_model("hred", s.vocab, SIZES, 2)
    all_replies = generate_replies(model, dev, np.random.default_rng(0), max_len=5, batch_size=2)
    model.eval()
    b = dev.batch(np.arange(len(dev)))
    assert all_replies == model.reply(b.context, b.n_turns, max_len=5)
    some = generate_replies(model, dev, np.random.default_rng(0), max_len=5, indices=[4, 1])
    assert some == [all_replies[4], all_replies[1]]
    lines = conversation_lines(dev, [4], {"hred": [[s.vocab.stoi["jazz"]]]})
    # example 4 is dialogue 1, turn 1: one context turn, the reply, the true response
    assert lines == ["dev dialogue 1, turn 1:", "    context:  book a flight to paris", "    hred:     jazz",
                     "    true:     when do you leave ?"]


def test_save_dialogue_model_rebuilds_the_same_model(tmp_path):
    import glassnet
    from glassnet.zoo import HRED, VHRED

    s = _splits()
    _, dev = corpora(s, max_turns=3, max_len=8, max_response_len=8)
    model, args = build_model("vhred", s.vocab, SIZES, 7)
    assert save_dialogue_model(None, "vhred", model, args, s.vocab) == []
    assert save_dialogue_model(tmp_path, "vhred", model, args, s.vocab) == ["vhred.npz", "vhred.json"]
    meta = json.loads((tmp_path / "vhred.json").read_text())
    assert meta["model"] == "VHRED" and meta["vocab"] == s.vocab.itos and meta["state_dict"] == "vhred.npz"
    again = {"HRED": HRED, "VHRED": VHRED}[meta["model"]](**meta["args"], rng=0)
    again.load_state_dict(glassnet.load(tmp_path / "vhred.npz"))
    b = dev.batch(np.arange(len(dev)))
    model.eval()
    again.eval()
    assert again.reply(b.context, b.n_turns, rng=1) == model.reply(b.context, b.n_turns, rng=1)


# ------------------------------------------------------------------------------------------- experiments
def test_build_model_refuses_an_unknown_kind():
    with pytest.raises(ConfigError, match="build_model: kind must be one of .*'vhred'.*got 'lstm'"):
        build_model("lstm", _splits().vocab, SIZES, 0)


def test_dialogue_experiments_are_registered_with_data_tags_and_documented_configs():
    import dataclasses

    names = {n for n, e in experiments().items() if e.topic == TOPIC}
    assert names == {"hred-context", "vhred-diversity"}
    for n in names:
        exp = get_experiment(n)
        assert exp.data == ("sgd",) and exp.claim.endswith(".") and exp.criterion
        fields = {f.name: f for f in dataclasses.fields(exp.Config)}
        assert all(f.metadata.get("help") for f in fields.values()) and set(exp.quick) <= set(fields)


def run_quick(name, tmp_path):
    r = run_experiment(get_experiment(name), quick=True, out_dir=tmp_path, seed=0, data_dir=SHARED, verbose=False,
                       printer=None)
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["verdict"] == r.verdict and data["topic"] == TOPIC
    assert r.plots and all((tmp_path / p).stat().st_size > 3000 for p in r.plots)
    assert r.quick_criterion and r.quick_criterion != get_experiment(name).criterion
    assert sum(line.startswith("dev dialogue ") for line in r.notes) == 2  # the quick run's sample conversations
    return r


@needs_sgd
def test_hred_context_quick_run(tmp_path):
    r = run_quick("hred-context", tmp_path)
    m = r.metrics
    assert r.verdict == "supported"
    assert [row["model"] for row in r.table] == ["seq2seq", "hred"]
    for row in r.table:  # the quick rule: both learn
        assert row["dev perplexity"] < 0.5 * row["at step 0"] and row["steps"] == 30
    assert m["vocabulary"] < m["seq2seq_perplexity"] * 10 and m["dev_examples"] > 0
    assert m["perplexity_ratio"] == pytest.approx(m["hred_perplexity"] / m["seq2seq_perplexity"])
    assert r.plots == ["dev_perplexity.png"]
    assert {"hred.npz", "hred.json", "seq2seq.npz", "seq2seq.json"} <= {p.name for p in tmp_path.iterdir()}


@needs_sgd
def test_vhred_diversity_quick_run(tmp_path):
    r = run_quick("vhred-diversity", tmp_path)
    m = r.metrics
    assert r.verdict == "supported"
    assert [row["model"] for row in r.table] == ["hred", "vhred"]
    assert m["vhred_kl_per_utterance"] > 0 and np.isfinite(m["vhred_perplexity"])
    assert m["vhred_perplexity"] >= m["vhred_reconstruction_perplexity"]  # the ELBO bound adds the KL
    hred_row = r.table[0]
    assert hred_row["KL / utterance (nats)"] == 0 and hred_row["reconstruction ppl"] == hred_row["dev perplexity"]
    for k in ("distinct_1", "distinct_2", "generic_share"):
        assert 0 <= m[f"hred_{k}"] <= 1 and 0 <= m[f"vhred_{k}"] <= 1
    assert {"perplexity_within_10_percent", "distinct_2_higher", "generic_share_lower"} <= set(m)
    assert r.plots == ["perplexity_and_kl.png"]
