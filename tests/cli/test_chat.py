"""``glassnet chat CHECKPOINT``: scripted conversations, the growing context, /reset, /quit, notes and errors."""

import numpy as np
import pytest
from click.testing import CliRunner

import glassnet.cli.chat  # noqa: F401  (registers the sub-commands)
import glassnet.cli.train  # noqa: F401
from glassnet.cli import cli
from glassnet.cli.chat import Conversation, detokenize
from glassnet.cli.train_dialogue import load_dialogue_model
from glassnet.text import word_tokenize
from glassnet.train import Checkpoint, save_checkpoint
from glassnet.zoo import HRED
from tests.cli.dialogue_data import TINY, write_sgd
from tests.cli_helpers import assert_one_line_error


def chat(*args, input=""):
    return CliRunner().invoke(cli, ["chat", *map(str, args)], input=input, catch_exceptions=False)


def trained(tmp_path_factory, model):
    home = tmp_path_factory.mktemp(model)
    out = home / "run"
    result = CliRunner().invoke(cli, ["train", model, *write_sgd(home), *TINY, "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out / "checkpoint.npz"


@pytest.fixture(scope="module")
def hred(tmp_path_factory):
    return trained(tmp_path_factory, "hred")


@pytest.fixture(scope="module")
def vhred(tmp_path_factory):
    return trained(tmp_path_factory, "vhred")


@pytest.fixture
def calls(monkeypatch):
    """Every ``HRED.reply`` call's context and n_turns (the model still replies)."""
    seen = []
    reply = HRED.reply

    def recording(self, context, n_turns, **kwargs):
        seen.append((np.array(context), np.array(n_turns)))
        return reply(self, context, n_turns, **kwargs)

    monkeypatch.setattr(HRED, "reply", recording)
    return seen


def test_one_reply_per_line_and_the_context_grows(hred, calls):
    result = chat(hred, "--turns", "5", input="hello\ni want a table for 2\nin tokyo\nyes, book it\n")
    assert result.exit_code == 0, result.output
    replies = result.stdout.splitlines()
    assert len(replies) == 4 and result.stderr == ""  # every word is known
    assert [int(n[0]) for _, n in calls] == [1, 3, 5, 5]  # user + model turns, then the window of 5
    model, vocab, _ = load_dialogue_model(hred)
    # the second call sees two pad rows, then: hello, the first reply, "i want a table for 2"
    context = calls[1][0][0]  # (U, L)
    assert context.shape == (5, 32) and (context[:2] == vocab.pad_id).all()
    first_reply = model.reply(calls[0][0], calls[0][1])[0]
    np.testing.assert_array_equal(context[2, :2], [*vocab.encode(["hello"]), vocab.eos_id])
    np.testing.assert_array_equal(context[3, :len(first_reply) + 1], [*first_reply, vocab.eos_id])
    np.testing.assert_array_equal(context[4, :7], [*vocab.encode(word_tokenize("i want a table for 2")),
                                                   vocab.eos_id])
    assert replies[0] == detokenize(vocab.decode(first_reply))


def test_default_window_is_the_training_contexts(hred, calls):
    assert chat(hred, input="hello\nhello\nhello\n").exit_code == 0
    assert [int(n[0]) for _, n in calls] == [1, 3, 3] and calls[0][0].shape == (1, 3, 32)


def test_reset_starts_a_new_conversation_and_quit_ends(hred, calls):
    result = chat(hred, input="hello\nin tokyo\n/reset\n\nhello\n/quit\nhello\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [int(n[0]) for _, n in calls] == [1, 3, 1] and len(lines) == 3
    assert lines[2] == lines[0]  # greedy: the same first turn gets the same reply after /reset
    assert "(new conversation)" in result.stderr


def test_unknown_words_are_noted_once(hred):
    result = chat(hred, input="hello zyzzyva\nzyzzyva again\n/frobnicate\n")
    assert result.exit_code == 0
    notes = result.stderr.splitlines()
    assert notes == ["note: not in the vocabulary, read as <unk>: zyzzyva",
                     "note: not in the vocabulary, read as <unk>: again",
                     "note: unknown command '/frobnicate'; commands: /reset, /quit"]
    assert len(result.stdout.splitlines()) == 2


def test_sampling_is_seeded_and_beam_decodes(hred):
    text = "hello\ni want a table\n"
    a = chat(hred, "--method", "sample", "--temperature", "2", "--seed", "1", input=text).stdout
    b = chat(hred, "--method", "sample", "--temperature", "2", "--seed", "1", input=text).stdout
    c = chat(hred, "--method", "sample", "--temperature", "2", "--seed", "2", input=text).stdout
    assert a == b and a != c
    result = chat(hred, "--method", "beam", "--beam", "3", "--max-len", "4", input=text)
    assert result.exit_code == 0 and all(len(r.split()) <= 4 for r in result.stdout.splitlines())


def test_vhred_checkpoint_chats(vhred, calls):
    result = chat(vhred, "--method", "sample", "--top-k", "3", input="hello\nin paris\n")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2 and [int(n[0]) for _, n in calls] == [1, 3]


def test_at_a_terminal_it_prompts_and_names_the_model(hred, monkeypatch):
    piped = chat(hred, input="hello\nin tokyo\n").stdout.splitlines()
    monkeypatch.setattr(glassnet.cli.chat, "_stdin_is_terminal", lambda: True)
    result = chat(hred, input="hello\nin tokyo\n")
    assert result.exit_code == 0
    assert result.stdout == "".join(f"you> hred> {reply}\n" for reply in piped) + "you> "  # then Ctrl-D
    assert result.stderr.startswith("chatting with hred (51 words, context: the last 3 turns, greedy decoding)")


def test_conversation_without_the_cli(hred):
    model, vocab, layout = load_dialogue_model(hred)
    talk = Conversation(model, vocab, window=2, turn_len=4, rng=0)
    talk.say("i want a table for 2 in tokyo")
    context, n_turns = talk.context()
    assert context.shape == (1, 2, 4) and n_turns.tolist() == [2]
    assert context[0, 0, -1] == vocab.eos_id  # a long turn is cut to L - 1 tokens, keeping <eos>
    talk.reset()
    assert talk.turns == []


def test_detokenize():
    assert detokenize(word_tokenize("Sure, at 11:30? It's $25 (total).")) == "sure, at 11:30? it's $25 (total)."


def test_errors_are_one_line(hred, tmp_path):
    assert_one_line_error(chat(tmp_path / "none.npz"), "no such file")
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    assert_one_line_error(chat(tmp_path / "bad.npz"), "not a readable .npz")
    save_checkpoint(tmp_path / "mlp.npz", Checkpoint(model={"w": np.zeros(2)}, config={"model": "mlp"}))
    assert_one_line_error(chat(tmp_path / "mlp.npz"), "is a checkpoint of 'mlp', not of a dialogue model")
    assert_one_line_error(chat(hred, "--top-k", "100000"), "--top-k must be at most the vocabulary size")
    assert_one_line_error(chat(hred, "--method", "beam", "--beam", "100000"), "--beam must be at most the vocab")
    assert_one_line_error(chat(hred, "--method", "nucleus"), "Invalid value for '--method'")
    assert_one_line_error(chat(hred, "--turns", "0"), "Invalid value for '--turns'")


def test_a_dialogue_labs_saved_pair_chats_like_its_checkpoint(hred, tmp_path, calls):
    """The labs' ``<name>.npz`` + ``<name>.json`` (save_dialogue_model) load to the same model and replies."""
    import json

    from glassnet.lab.dialogue.common import save_dialogue_model
    from glassnet.train import load_checkpoint

    model, vocab, layout = load_dialogue_model(hred)
    args = load_checkpoint(hred).extra["dialogue"]["kwargs"]
    files = save_dialogue_model(tmp_path, "hred", model, args, vocab, max_turns=2, max_len=layout["max_len"])
    assert files == ["hred.npz", "hred.json"] and json.loads((tmp_path / "hred.json").read_text())["max_turns"] == 2
    again, vocab2, layout2 = load_dialogue_model(tmp_path / "hred.npz")
    assert list(vocab2.itos) == list(vocab.itos) and layout2 == {**layout, "max_turns": 2}
    for (k, a), (k2, b) in zip(sorted(model.state_dict().items()), sorted(again.state_dict().items())):
        assert k == k2 and np.array_equal(a, b)
    lines = "hello\ni want a table for 2\n"
    ours, theirs = chat(tmp_path / "hred.npz", input=lines), chat(hred, "--turns", "2", input=lines)
    assert ours.exit_code == 0 and ours.stdout == theirs.stdout != ""
    (tmp_path / "hred.json").write_text("{not json")
    assert_one_line_error(chat(tmp_path / "hred.npz", input="hello\n"), "not a readable lab record")
