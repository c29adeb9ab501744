"""``glassnet train hred|vhred|seq2seq-dialogue --data sgd``: outputs, the self-contained checkpoint, resume, errors."""

import json

import numpy as np
import pytest

import glassnet.cli.train  # noqa: F401  (registers the sub-command)
import glassnet.train
from glassnet.cli.train_dialogue import load_dialogue_model, parse_file_numbers
from glassnet.errors import ConfigError
from glassnet.train import load_checkpoint
from glassnet.zoo import HRED, VHRED
from tests.cli.dialogue_data import TINY, write_sgd
from tests.cli_helpers import assert_one_line_error, invoke


def numbers(out_dir):
    metrics = json.loads((out_dir / "metrics.json").read_text())
    metrics.pop("seconds")
    return metrics


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_sgd(tmp_path_factory.mktemp("home"))


def train(model, data, out, *extra):
    return invoke(["train", model, *data, *TINY, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """The uninterrupted HRED run: 8 steps, checkpoints (and dev evaluations) at steps 3, 6 and 8."""
    out = tmp_path_factory.mktemp("hred")
    result = train("hred", data, out)
    assert result.exit_code == 0, result.output
    return out


def test_run_reports_dev_perplexity_and_writes_metrics(reference):
    m = numbers(reference)
    assert (m["model"], m["steps"], m["n_train"], m["n_dev"]) == ("hred", 8, 120, 30)  # 24 x 5, 6 x 5 responses
    assert [e["step"] for e in m["history"]] == [3, 6, 8]
    final = m["final"]
    assert final == m["history"][-1] and 1 < final["dev_ppl"] < m["vocab_size"]  # better than uniform after 8 steps
    assert final["dev_ppl"] == pytest.approx(np.exp(final["dev_nll_per_token"]), rel=1e-12)
    assert "dev_kl" not in final and m["config"]["word_dropout"] == 0.0


def test_checkpoint_rebuilds_the_model_without_the_data(reference):
    ck = load_checkpoint(reference / "checkpoint.npz")
    assert ck.step == 8 and ck.config["model"] == "hred"
    record = ck.extra["dialogue"]
    assert record["class"] == "HRED" and record["max_turns"] == 3 and record["max_len"] == 32
    assert record["vocab"][:4] == ["<pad>", "<unk>", "<bos>", "<eos>"] and "tokyo" in record["vocab"]
    model, vocab, layout = load_dialogue_model(reference / "checkpoint.npz")
    assert type(model) is HRED and model.context_rnn and not model.training
    assert len(vocab) == model.vocab == json.loads((reference / "metrics.json").read_text())["vocab_size"]
    assert layout == {"model": "hred", "max_turns": 3, "max_len": 32}
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, ck.model[k])


def test_finished_run_resumed_trains_nothing(reference):
    before = numbers(reference)
    result = train("hred", [], reference, "--resume", "--data", "sgd")
    assert result.exit_code == 0, result.output
    assert "after step 8 of 8" in result.output and numbers(reference) == before


def test_resume_from_an_earlier_checkpoint_ends_with_the_same_numbers(reference, data, tmp_path):
    assert train("hred", data, tmp_path, "--steps", "6").exit_code == 0
    assert load_checkpoint(tmp_path / "checkpoint.npz").step == 6
    result = train("hred", data, tmp_path, "--steps", "8", "--resume")
    assert result.exit_code == 0, result.output
    assert numbers(tmp_path) == numbers(reference)


def test_interrupt_between_checkpoints_then_resume_gives_the_same_weights(data, tmp_path, monkeypatch):
    # VHRED with word dropout: its ε and dropout masks come from the model's Generator, which must be restored
    reference, run = tmp_path / "reference", tmp_path / "run"
    assert train("vhred", data, reference).exit_code == 0
    step = glassnet.train.train_step
    calls = []

    def interrupted_at_step_5(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(glassnet.train, "train_step", interrupted_at_step_5)
    result = train("vhred", data, run)
    assert result.exit_code == 130 and "--resume" in result.stderr
    assert load_checkpoint(run / "checkpoint.npz").step == 3 and not (run / "metrics.json").exists()
    monkeypatch.setattr(glassnet.train, "train_step", step)
    result = train("vhred", data, run, "--resume")
    assert result.exit_code == 0, result.output
    assert numbers(run) == numbers(reference)
    a, b = load_checkpoint(run / "checkpoint.npz"), load_checkpoint(reference / "checkpoint.npz")
    for k in b.model:
        np.testing.assert_array_equal(a.model[k], b.model[k])


def test_vhred_anneals_the_kl_weight_and_reports_the_kl(data, tmp_path):
    result = train("vhred", data, tmp_path, "--kl-anneal-steps", "4")
    assert result.exit_code == 0, result.output
    m = numbers(tmp_path)
    assert m["config"]["word_dropout"] == 0.25  # VHRED's default, the paper's cure for a collapsing KL
    assert [e["kl_weight"] for e in m["history"]] == [0.75, 1.0, 1.0]  # linear_kl_weight(step, 4)
    final = m["final"]
    assert final["dev_kl"] > 0 and final["dev_elbo_ppl"] > final["dev_ppl"] > 1
    assert "KL" in result.output and "nats per response" in result.output
    model, _, _ = load_dialogue_model(tmp_path / "checkpoint.npz")
    assert type(model) is VHRED and model.latent == 4 and model.word_dropout == 0.25


def test_seq2seq_baseline_sees_the_previous_utterance_only(data, tmp_path):
    result = train("seq2seq-dialogue", data, tmp_path, "--word-dropout", "0.1")
    assert result.exit_code == 0, result.output
    model, _, layout = load_dialogue_model(tmp_path / "checkpoint.npz")
    assert type(model) is HRED and not model.context_rnn and model.word_dropout == 0.1
    assert layout["max_turns"] == 1 and numbers(tmp_path)["n_train"] == 120


def test_help_lists_the_dialogue_models():
    result = invoke(["train", "--help"])
    assert result.exit_code == 0 and all(name in result.output for name in ("hred", "vhred", "seq2seq-dialogue"))
    result = invoke(["train", "vhred", "--help"])
    assert result.exit_code == 0
    assert all(o in result.output for o in ("--kl-anneal-steps", "--word-dropout", "--steps", "--resume"))


def test_parse_file_numbers():
    assert parse_file_numbers("1-3,7", "--x") == [1, 2, 3, 7]
    for bad in ("", "0", "3-1", "a", "1-1000"):
        with pytest.raises(ConfigError, match="--x must be file numbers"):
            parse_file_numbers(bad, "--x")


@pytest.mark.parametrize("args, text", [
    (["train", "hred", "--data", "sgd", "--train-files", "1-x"], "--train-files must be file numbers"),
    (["train", "hred", "--data", "ptb"], "Invalid value for '--data'"),
    (["train", "hred", "--data", "sgd", "--kl-anneal-steps", "-1"], "Invalid value for '--kl-anneal-steps'"),
    (["train", "vhred", "--data", "sgd", "--word-dropout", "1"], "Invalid value for '--word-dropout'"),
    (["train", "hred", "--data", "sgd", "--data-dir", "/no/such/dir"], "--data-dir: no such directory"),
    (["train", "--data", "sgd", "mlp"], "Invalid value for 'MODEL': 'mlp' is not one of 'hred'"),  # --data first
])
def test_bad_options_give_one_line_errors(args, text):
    assert_one_line_error(invoke(args), text)


def test_missing_data_checkpoint_and_changed_settings(reference, data, tmp_path):
    result = invoke(["train", "hred", "--data", "sgd", "--data-dir", str(tmp_path), "--train-files", "13",
                     "--out", str(tmp_path / "run")])
    assert_one_line_error(result, "no such file")
    assert not (tmp_path / "run").exists()
    assert_one_line_error(train("hred", data, tmp_path / "none", "--resume"), "no such file")
    assert_one_line_error(train("hred", data, reference, "--resume", "--lr", "0.01"),
                          "--resume: --lr 0.01 differs from the checkpoint's 0.001")
    assert_one_line_error(train("vhred", data, reference, "--resume"),
                          "--resume: MODEL 'vhred' differs from the checkpoint's 'hred'")
