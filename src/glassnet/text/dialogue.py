"""Dialogue training examples: (context of up to U previous utterances, response) pairs, batched as int64 arrays.

A dialogue ``[u_0, u_1, …, u_{M-1}]`` gives one example per response turn ``t = 1 … M-1``: the context is
``u_{max(0, t-U)} … u_{t-1}`` and the response is ``u_t``, as in HRED (Serban et al. 2016, "Building End-To-End
Dialogue Systems Using Generative Hierarchical Neural Network Models", AAAI), which models every turn given
the ones before. With ``previous_only`` (U = 1) the context is the single previous utterance: the seq2seq
baseline of Vinyals & Le 2015.

The batch interface (:class:`DialogueBatch`) that the HRED / VHRED models consume:

* ``context`` int64 ``(N, U, L)``: the U previous utterances, most recent LAST (``context[:, -1]`` is the
  utterance right before the response); each row is the utterance's tokens then ``<eos>``, truncated to L
  (keeping ``<eos>``), right-padded with ``pad_id``; missing turns early in a dialogue are all-pad rows at the
  FRONT.
* ``n_turns`` int64 ``(N,)``: how many context rows are real (1 … U), i.e. rows ``U - n_turns …`` are real.
* ``response`` int64 ``(N, T)``: ``<bos>`` tokens ``<eos>``, right-padded with ``pad_id``; T is the longest
  response in the batch, at most ``max_response_len`` (a longer response is truncated, keeping ``<eos>``).
  Teacher forcing feeds ``response[:, :-1]`` and predicts ``response[:, 1:]`` (ignore ``pad_id`` targets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from glassnet.checks import as_generator, check_bool, check_optional, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.text.tokenize import word_tokenize
from glassnet.text.vocab import SPECIALS, Vocabulary

__all__ = ["DialogueBatch", "DialogueCorpus", "dialogue_vocabulary"]


class DialogueBatch(NamedTuple):
    """One batch: ``context (N, U, L)``, ``n_turns (N,)``, ``response (N, T)``, all int64 (see the module doc)."""

    context: np.ndarray
    n_turns: np.ndarray
    response: np.ndarray


def _check_dialogues(dialogues, who: str) -> None:
    if isinstance(dialogues, str) or not isinstance(dialogues, Sequence):
        raise ConfigError(f"{who}: dialogues must be a list of dialogues (lists of utterance strings), "
                          f"got {type(dialogues).__name__}")
    for i, d in enumerate(dialogues):
        if isinstance(d, str) or not isinstance(d, Sequence) or not all(isinstance(u, str) for u in d):
            raise ConfigError(f"{who}: dialogues[{i}] must be a list of utterance strings, got {d!r:.80}")


def dialogue_vocabulary(dialogues: Sequence[Sequence[str]], min_freq: int = 1, max_size: int | None = None,
                        tokenize: Callable[[str], list[str]] = word_tokenize) -> Vocabulary:
    """A :class:`~glassnet.text.Vocabulary` of every utterance's tokens (specials ``<pad> <unk> <bos> <eos>``).

    Build it on the training dialogues only; dev tokens outside it become ``<unk>``.

    Raises:
        ConfigError: ``dialogues`` not a list of lists of str, bad ``min_freq``/``max_size``.
    """
    _check_dialogues(dialogues, "dialogue_vocabulary")
    return Vocabulary.build((tokenize(u) for d in dialogues for u in d), min_freq=min_freq, max_size=max_size,
                            specials=SPECIALS)


class DialogueCorpus:
    """Every (context, response) example of a list of dialogues, encoded once, and seeded shuffled batches of them.

    ``corpus.batches(64, rng=0)`` yields :class:`DialogueBatch` es; ``corpus.batch(indices)`` builds one.

    Args:
        dialogues: list of dialogues, each a list of utterance strings in turn order (e.g.
            :func:`glassnet.data.datasets.load_sgd`); a dialogue of one utterance gives no example.
        vocab: the vocabulary; it must have ``<pad>``, ``<bos>``, ``<eos>`` (and ``<unk>`` for unseen tokens).
        max_turns: U, the number of previous utterances in a context (default 3; 1 with ``previous_only``).
        max_len: L, the length of a context row, ``<eos>`` included (>= 2).
        max_response_len: the cap on T, ``<bos>`` and ``<eos>`` included (>= 3; None: no cap).
        previous_only: U = 1, the previous utterance only (the seq2seq baseline).
        tokenize: str -> token list (default :func:`~glassnet.text.word_tokenize`).

    Attributes:
        context ``(N, U, L)`` int64, n_turns ``(N,)`` int64: every example's context (the batch arrays' source);
        responses: list of N 1-D int64 arrays ``<bos> … <eos>`` (already capped);
        dialogue_index, turn_index ``(N,)`` int64: where each response comes from (dialogue, turn t >= 1).

    Raises:
        ConfigError: bad dialogues, sizes, ``previous_only`` with ``max_turns > 1``, or a vocabulary without the
            needed specials.
    """

    def __init__(self, dialogues: Sequence[Sequence[str]], vocab: Vocabulary, max_turns: int | None = None,
                 max_len: int = 32, max_response_len: int | None = None, previous_only: bool = False,
                 tokenize: Callable[[str], list[str]] = word_tokenize):
        who = "DialogueCorpus"
        _check_dialogues(dialogues, who)
        if not isinstance(vocab, Vocabulary):
            raise ConfigError(f"{who}: vocab must be a glassnet.text.Vocabulary, got {type(vocab).__name__}")
        previous_only = check_bool(previous_only, "previous_only", who)
        max_turns = check_optional(max_turns, check_size, "max_turns", who)
        if previous_only and max_turns not in (None, 1):
            raise ConfigError(f"{who}: previous_only means max_turns = 1, got max_turns={max_turns}")
        U = max_turns or (1 if previous_only else 3)
        L = check_size(max_len, "max_len", who, min=2)
        cap = check_optional(max_response_len, check_size, "max_response_len", who, min=3)
        self.vocab, self.max_turns, self.max_len, self.max_response_len = vocab, U, L, cap
        self.pad_id, bos, eos = vocab.pad_id, vocab.bos_id, vocab.eos_id

        contexts, n_turns, self.responses, where = [], [], [], []
        for i, d in enumerate(dialogues):
            ids = [vocab.encode(tokenize(u)) for u in d]  # each (len,) int64, no specials yet
            rows = np.full((len(d), L), self.pad_id, dtype=np.int64)  # every utterance as a context row
            for j, u in enumerate(ids):
                row = np.append(u[: L - 1], eos)  # truncate to L, keeping <eos>
                rows[j, : len(row)] = row
            for t in range(1, len(d)):
                k = min(U, t)  # real context rows
                ctx = np.full((U, L), self.pad_id, dtype=np.int64)  # (U, L)
                ctx[U - k:] = rows[t - k: t]  # missing turns are pad rows at the front
                contexts.append(ctx)
                n_turns.append(k)
                body = ids[t] if cap is None else ids[t][: cap - 2]  # truncate, keeping <bos> and <eos>
                self.responses.append(np.concatenate([[bos], body, [eos]]).astype(np.int64))
                where.append((i, t))
        self.context = np.stack(contexts) if contexts else np.zeros((0, U, L), np.int64)  # (N, U, L)
        self.n_turns = np.asarray(n_turns, dtype=np.int64)  # (N,)
        where = np.asarray(where, dtype=np.int64).reshape(-1, 2)
        self.dialogue_index, self.turn_index = where[:, 0], where[:, 1]

    def __len__(self) -> int:
        return len(self.responses)

    def __repr__(self) -> str:
        return (f"DialogueCorpus({len(self)} examples, U={self.max_turns}, L={self.max_len}, "
                f"V={len(self.vocab)})")

    def batch(self, indices) -> DialogueBatch:
        """The :class:`DialogueBatch` of the examples at ``indices`` (a 1-D int array), in that order.

        Raises:
            ShapeError: ``indices`` not 1-D, empty, or out of ``[0, N)``.
        """
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            raise ShapeError(f"DialogueCorpus.batch: indices must be a non-empty 1-D int array, got shape "
                             f"{idx.shape} dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= len(self):
            raise ShapeError(f"DialogueCorpus.batch: indices must be in [0, {len(self)}), got "
                             f"{int(idx.min())}..{int(idx.max())}")
        responses = [self.responses[i] for i in idx.tolist()]
        T = max(len(r) for r in responses)
        response = np.full((len(idx), T), self.pad_id, dtype=np.int64)  # (N, T)
        for n, r in enumerate(responses):
            response[n, : len(r)] = r
        return DialogueBatch(self.context[idx], self.n_turns[idx], response)

    def batches(self, batch_size: int, shuffle: bool = True, rng=None, drop_last: bool = False
                ) -> Iterator[DialogueBatch]:
        """Batches of ``batch_size`` examples covering the corpus once (an epoch).

        Args:
            shuffle: a random order from ``rng`` (an int seed gives the same order each call; a Generator moves
                on, so successive epochs differ); False: corpus order.
            rng: a ``numpy.random.Generator``, an int seed or None (see :func:`glassnet.checks.as_generator`).
            drop_last: drop a final batch smaller than ``batch_size``.

        Raises:
            ConfigError: bad ``batch_size``, ``shuffle``, ``drop_last`` or ``rng``.
        """
        who = "DialogueCorpus.batches"
        batch_size = check_size(batch_size, "batch_size", who)
        order = np.arange(len(self))
        if check_bool(shuffle, "shuffle", who):
            order = as_generator(rng, f"{who}: rng").permutation(len(self))
        stop = len(order) - len(order) % batch_size if check_bool(drop_last, "drop_last", who) else len(order)
        for start in range(0, stop, batch_size):
            yield self.batch(order[start: start + batch_size])
