"""``glassnet chat CHECKPOINT``: talk to a dialogue model trained by ``glassnet train hred|vhred|seq2seq-dialogue``.

Each line read from stdin is one user turn: tokenised with :func:`glassnet.text.word_tokenize`, encoded with
the checkpoint's vocabulary (a word outside it is read as ``<unk>``, said once in a note on stderr), and
appended to the conversation; the model replies to the last ``--turns`` turns (the user's and its own), and
its reply joins the conversation too. At a terminal it prompts ``you> `` and prefixes replies with the
model's name; piped (``echo hello | glassnet chat ckpt``) it prints one reply per input line and nothing
else on stdout. ``/reset`` starts a new conversation, ``/quit`` or end of input ends.

The context is laid out as in training (:class:`glassnet.text.DialogueCorpus`): each turn is its tokens cut
to L - 1 then ``<eos>``, right-padded; the turns sit in the last rows of a ``(1, U, L)`` array, most recent
last, with all-pad rows before them while the conversation is shorter than U.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import click
import numpy as np

from glassnet.cli import cli, set_interrupt_hint

__all__ = ["chat_command", "Conversation", "detokenize"]

_COMMANDS = ("/reset", "/quit")


def detokenize(tokens: list[str]) -> str:
    """Tokens as text: ``['sure', ',', 'at', '11', ':', '30', '?']`` -> ``'sure, at 11:30?'``.

    The inverse of :func:`~glassnet.text.word_tokenize` up to case and spacing, for display only.
    """
    text = " ".join(tokens)
    text = re.sub(r" ([,.!?;:%)])", r"\1", text)  # no space before closing punctuation
    text = re.sub(r"([($#]) ", r"\1", text)  # nor after opening signs
    return re.sub(r"(\d)([:.,]) (\d)", r"\1\2\3", text)  # 11:30, 2.5, 1,000


class Conversation:
    """A conversation with a dialogue model: the turns so far, and the model's reply to each new user turn.

    Args:
        model: a :class:`~glassnet.zoo.HRED` or :class:`~glassnet.zoo.VHRED` (put in eval mode).
        vocab: its :class:`~glassnet.text.Vocabulary`.
        window: U, the most recent turns the model sees (user and model turns alike).
        turn_len: L, the tokens of one context turn, ``<eos>`` included (the training contexts' L).
        rng: Generator or seed for sampling and VHRED's ``z``.
        **reply_options: passed to ``model.reply`` (method, max_len of the reply, temperature, top_k, beam).

    Attributes:
        turns: list of 1-D int64 arrays, the token ids of every turn since the start or the last :meth:`reset`.
    """

    def __init__(self, model: Any, vocab: Any, window: int, turn_len: int, rng: Any = None, **reply_options: Any):
        from glassnet.checks import as_generator

        self.model, self.vocab, self.window, self.turn_len = model, vocab, window, turn_len
        self.rng = as_generator(rng, "Conversation: rng")
        self.reply_options = reply_options
        self.turns: list[np.ndarray] = []
        model.eval()

    def reset(self) -> None:
        """Forget every turn."""
        self.turns = []

    def context(self) -> tuple[np.ndarray, np.ndarray]:
        """The last ``window`` turns as the model's ``context (1, U, L)`` and ``n_turns (1,)`` (module docstring)."""
        U, L, pad = self.window, self.turn_len, self.vocab.pad_id
        recent = self.turns[-U:]
        context = np.full((1, U, L), pad, dtype=np.int64)  # (1, U, L)
        for j, ids in enumerate(recent, start=U - len(recent)):  # the real turns fill the last rows
            row = np.append(ids[: L - 1], self.vocab.eos_id)  # cut to L, keeping <eos>
            context[0, j, : len(row)] = row
        return context, np.array([len(recent)], dtype=np.int64)

    def say(self, text: str) -> tuple[str, list[str]]:
        """Add the user turn ``text`` and the model's reply; returns ``(reply text, words read as <unk>)``."""
        from glassnet.text import word_tokenize

        tokens = word_tokenize(text)
        unknown = [t for t in dict.fromkeys(tokens) if t not in self.vocab]
        self.turns.append(self.vocab.encode(tokens))
        reply = self.model.reply(*self.context(), rng=self.rng, **self.reply_options)[0]
        self.turns.append(np.asarray(reply, dtype=np.int64))
        return detokenize(self.vocab.decode(reply)), unknown


def _stdin_is_terminal() -> bool:
    """True when a person types (prompt and name the replies), False when the turns are piped in."""
    return sys.stdin.isatty()


@cli.command("chat")
@click.argument("checkpoint", metavar="CHECKPOINT")
@click.option("--method", type=click.Choice(["greedy", "beam", "sample"]), default="greedy", show_default=True,
              help="Decoding: the most probable word each step, beam search, or sampling.")
@click.option("--beam", type=click.IntRange(min=1), default=4, show_default=True, help="Beam width (--method beam).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Softmax temperature (--method sample): below 1 safer, above 1 more varied.")
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Sample among the K most probable words only (--method sample).")
@click.option("--max-len", type=click.IntRange(min=1), default=30, show_default=True, help="Most words per reply.")
@click.option("--turns", type=click.IntRange(min=1), default=None,
              help="Context window: the last N turns (yours and the model's) [default: the training contexts' U].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of sampling and of VHRED's latent z.")
def chat_command(checkpoint, method, beam, temperature, top_k, max_len, turns, seed):
    """Talk to the dialogue model in CHECKPOINT (a checkpoint.npz of `glassnet train hred|vhred|...`).

    Reads one turn per line from stdin; /reset starts a new conversation, /quit or end of input (Ctrl-D) ends.
    """
    from glassnet.cli.train_dialogue import load_dialogue_model
    from glassnet.errors import ConfigError

    model, vocab, layout = load_dialogue_model(checkpoint)
    if top_k is not None and top_k > len(vocab):
        raise ConfigError(f"--top-k must be at most the vocabulary size {len(vocab)}, got {top_k}")
    if method == "beam" and beam > len(vocab):  # a wider beam holds nothing more, and costs beam x V per step
        raise ConfigError(f"--beam must be at most the vocabulary size {len(vocab)}, got {beam}")
    conversation = Conversation(model, vocab, window=turns or layout["max_turns"], turn_len=layout["max_len"],
                                rng=seed, method=method, max_len=max_len, temperature=temperature, top_k=top_k,
                                beam=beam)
    interactive = _stdin_is_terminal()
    set_interrupt_hint("the conversation is not kept")
    name = layout["model"]
    if interactive:
        click.echo(f"chatting with {name} ({len(vocab)} words, context: the last {conversation.window} turns, "
                   f"{method} decoding); /reset starts over, /quit or Ctrl-D ends", err=True)
    shown: set[str] = set()
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except EOFError:  # Ctrl-D at the prompt
            click.echo(err=True)
            break
        if not interactive and not line:  # end of input
            break
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            if text == "/quit":
                break
            if text == "/reset":
                conversation.reset()
                click.echo("(new conversation)", err=True)
            else:
                click.echo(f"note: unknown command {text.split()[0]!r}; commands: {', '.join(_COMMANDS)}", err=True)
            continue
        reply, unknown = conversation.say(text)
        new = [w for w in unknown if w not in shown]
        if new:
            shown.update(new)
            click.echo(f"note: not in the vocabulary, read as <unk>: {', '.join(new)}", err=True)
        click.echo(f"{name}> {reply}" if interactive else reply)
