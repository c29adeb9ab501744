"""What the dialogue experiments share: the SGD corpus, one training loop, dev perplexity, replies, samples.

Not an experiment (the registry finds none here). Every training step goes through
:func:`glassnet.train.step.train_step`; each model gets the same batches in the same order (one seed for the
order), so two models trained here differ only by what they are.

* :func:`load_dialogue_splits`: SGD train and dev dialogues and the vocabulary built on the training ones.
* :func:`train_dialogue_model`: Adam with gradient-norm clipping, VHRED's KL annealed by
  :func:`~glassnet.zoo.hred.linear_kl_weight`, dev perplexity every ``eval_every`` steps.
* :func:`dev_perplexity`: corpus perplexity (HRED) or its ELBO bound and the KL per utterance (VHRED).
* :func:`generate_replies`: greedy replies to every dev context (VHRED: ``z`` drawn from the prior first).
* :func:`conversation_lines`: a few dev contexts with each model's reply and the true one, as text.
* :func:`save_dialogue_model`: the trained model as ``<name>.npz`` (state dict) + ``<name>.json`` (model class,
  constructor arguments, vocabulary), for ``glassnet chat``.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

import glassnet.functional as F
from glassnet import no_grad
from glassnet.checks import check_choice
from glassnet.text import DialogueBatch, DialogueCorpus, Vocabulary, dialogue_vocabulary, perplexity
from glassnet.zoo import HRED, VHRED

__all__ = ["DialogueSplits", "load_dialogue_splits", "corpora", "trimmed", "build_model", "dev_perplexity",
           "train_dialogue_model", "generate_replies", "conversation_lines", "save_dialogue_model", "MODEL_KINDS"]

MODEL_KINDS = ("hred", "seq2seq", "vhred")


class DialogueSplits(NamedTuple):
    """SGD dialogues (lists of utterance strings) and the vocabulary of the training ones."""

    train: list[list[str]]
    dev: list[list[str]]
    vocab: Vocabulary


def load_dialogue_splits(data_dir: Any, *, train_files: int = 0, max_train: int = 0, max_dev: int = 0,
                         min_freq: int = 5) -> DialogueSplits:
    """The SGD train and dev dialogues (:func:`~glassnet.data.datasets.sgd.load_sgd`) and their vocabulary.

    Args:
        data_dir: data home (the folder holding ``sgd/``) or None for the default cache.
        train_files: read training files 001 … this one (0: the 12 pinned files).
        max_train, max_dev: keep only the first this many dialogues (0: all).
        min_freq: training tokens rarer than this become ``<unk>``.

    Raises:
        DataError: the files are missing (the experiment is then inconclusive) or corrupt.
    """
    from glassnet.data.datasets.sgd import load_sgd

    train = load_sgd("train", root=data_dir, files=train_files or None, max_dialogues=max_train or None)
    dev = load_sgd("dev", root=data_dir, max_dialogues=max_dev or None)
    return DialogueSplits(train, dev, dialogue_vocabulary(train, min_freq=min_freq))


def corpora(splits: DialogueSplits, *, max_turns: int, max_len: int, max_response_len: int
            ) -> tuple[DialogueCorpus, DialogueCorpus]:
    """``(train, dev)`` :class:`~glassnet.text.DialogueCorpus` es with U = ``max_turns`` previous utterances.

    ``max_turns = 1`` is the seq2seq baseline's view (``previous_only``); the examples (which responses, in which
    order) do not depend on U, so corpora of different U line up example by example.
    """
    kw = {"max_turns": max_turns, "max_len": max_len, "max_response_len": max_response_len,
          "previous_only": max_turns == 1}
    return DialogueCorpus(splits.train, splits.vocab, **kw), DialogueCorpus(splits.dev, splits.vocab, **kw)


def trimmed(batch: DialogueBatch, pad_id: int) -> DialogueBatch:
    """The batch with its context rows cut after the longest real utterance: ``(N, U, L) -> (N, U, L')``.

    The utterance GRU reads ``lengths`` and ignores trailing pads anyway; cutting the all-pad columns only saves
    the time of stepping through them (most SGD utterances are far shorter than L).
    """
    width = int((batch.context != pad_id).sum(axis=2).max())  # L' >= 1: every real row ends with <eos>
    return DialogueBatch(batch.context[:, :, :width], batch.n_turns, batch.response)


def build_model(kind: str, vocab: Vocabulary, sizes: dict[str, Any], rng) -> tuple[HRED, dict[str, Any]]:
    """A fresh model and its constructor arguments (what :func:`save_dialogue_model` records).

    Args:
        kind: ``"hred"``, ``"seq2seq"`` (``HRED(context_rnn=False)``) or ``"vhred"``.
        sizes: ``embed``, ``hidden`` (utterance, context and decoder GRUs alike), and for VHRED ``latent``,
            ``word_dropout``.
        rng: Generator or seed of the initial weights.

    Raises:
        ConfigError: an unknown ``kind``.
    """
    check_choice(kind, "kind", MODEL_KINDS, "build_model")
    args: dict[str, Any] = {"vocab": len(vocab), "embed": sizes["embed"], "utterance_hidden": sizes["hidden"],
                            "context_hidden": sizes["hidden"], "decoder_hidden": sizes["hidden"],
                            "pad_id": vocab.pad_id, "unk_id": vocab.unk_id, "bos_id": vocab.bos_id,
                            "eos_id": vocab.eos_id}
    if kind == "vhred":
        args.update(latent=sizes["latent"], latent_hidden=sizes["hidden"], word_dropout=sizes["word_dropout"])
        return VHRED(**args, rng=rng), args
    args["context_rnn"] = kind == "hred"
    return HRED(**args, rng=rng), args


def dev_perplexity(model: HRED, corpus: DialogueCorpus, rng, batch_size: int = 256) -> dict[str, float]:
    """Per-token perplexity of ``corpus``'s responses, in evaluation mode (no word dropout), without a graph.

    HRED: ``exp(Σ -log p(y_t | y_<t, c) / #tokens)``. VHRED: the ELBO bound
    ``exp((Σ_t -log p(y_t | y_<t, c, z) + Σ_n KL_n) / #tokens)`` with one ``z ~ q(z | c, r)`` per response from
    ``rng``; it bounds the true perplexity from above (Serban et al. 2017 report the same bound).

    Returns:
        ``{"perplexity", "nll_per_token", "kl_per_utterance"}``; the reconstruction-only
        ``"reconstruction_perplexity"`` too for VHRED (KL 0 and equal to ``"perplexity"`` for HRED).
    """
    was = model.training
    model.eval()
    nll, kl, tokens = 0.0, 0.0, 0
    with no_grad():
        for b in corpus.batches(batch_size, shuffle=False):
            t = model.terms(*trimmed(b, corpus.pad_id), rng=rng)
            nll += float(t.nll.item())
            kl += 0.0 if t.kl is None else float(t.kl.data.sum())
            tokens += t.tokens
    model.train(was)
    return {"perplexity": perplexity(nll + kl, tokens), "reconstruction_perplexity": perplexity(nll, tokens),
            "nll_per_token": (nll + kl) / tokens, "kl_per_utterance": kl / len(corpus)}


def train_dialogue_model(model: HRED, train: DialogueCorpus, dev: DialogueCorpus, *, steps: int, batch_size: int,
                         lr: float, max_norm: float, order_rng, eval_rng, eval_every: int, progress, desc: str,
                         kl_anneal_steps: int = 0) -> dict[str, Any]:
    """Adam on the teacher-forced loss for ``steps`` steps; dev perplexity at step 0, every ``eval_every``, and last.

    HRED minimises the NLL per token; VHRED the negative ELBO per token with the KL weight
    ``linear_kl_weight(step, kl_anneal_steps)`` (0 at the first step, 1 from step ``kl_anneal_steps`` on).
    Batches come from ``order_rng`` (successive epochs reshuffle); ``eval_rng`` draws VHRED's ε at evaluation,
    word dropout and training ε come from the model's own generator.

    Returns:
        ``{"curve": [{"step", "perplexity", "kl_per_utterance", ...}], "train_loss": [per step],
        "train_kl": [per step, VHRED's mean KL per utterance, else []], "seconds_per_step", "seconds",
        "parameters"}``; the last curve point is the model's final dev score.
    """
    from glassnet.optim import Adam
    from glassnet.train.step import train_step
    from glassnet.zoo.hred import linear_kl_weight

    latent = isinstance(model, VHRED)
    opt = Adam(list(model.parameters()), lr=lr)
    curve = [{"step": 0, **dev_perplexity(model, dev, eval_rng)}]
    losses, kls, train_seconds = [], [], 0.0
    bar = progress(total=steps, desc=desc)
    step, epoch = 0, 0
    model.train()
    while step < steps:
        epoch += 1
        for b in train.batches(batch_size, rng=order_rng, drop_last=True):
            b = trimmed(b, train.pad_id)
            start = time.perf_counter()
            kl_weight = linear_kl_weight(step, kl_anneal_steps)

            def loss(b=b, kl_weight=kl_weight):
                """The loss per token and, for VHRED, the batch's mean KL per utterance (the step's outputs)."""
                if not latent:
                    return model.loss(*b), None
                t = model.terms(*b)  # VHRED.loss's -ELBO, from its terms so that the KL can be logged too
                return (t.nll + F.sum(t.kl) * kl_weight) * (1.0 / t.tokens), float(t.kl.data.mean())

            done = train_step(opt, loss, max_norm=max_norm, where=f"{desc} epoch {epoch}, step {step + 1}",
                              model=model)
            train_seconds += time.perf_counter() - start
            losses.append(done.loss)
            if latent:
                kls.append(done.outputs)
            step += 1
            bar.update(1)
            if step % eval_every == 0 or step == steps:
                curve.append({"step": step, **dev_perplexity(model, dev, eval_rng)})
            if step == steps:
                break
    bar.close()
    return {"curve": curve, "train_loss": losses, "train_kl": kls, "seconds_per_step": train_seconds / steps,
            "seconds": train_seconds, "parameters": int(sum(p.size for p in model.parameters()))}


def generate_replies(model: HRED, corpus: DialogueCorpus, rng, *, max_len: int, indices=None,
                     batch_size: int = 256) -> list[list[int]]:
    """Greedy replies (token ids, no ``<bos>``/``<eos>``) to the contexts of ``corpus`` at ``indices`` (None:
    every one, in corpus order), at most ``max_len`` tokens each.

    VHRED first draws ``z ~ p(z | c)`` from ``rng`` for each context (:meth:`~glassnet.zoo.HRED.reply`), then
    decodes greedily given ``[c; z]``; HRED has no ``z`` and its greedy reply is deterministic.
    """
    was = model.training
    model.eval()
    replies: list[list[int]] = []
    order = np.arange(len(corpus)) if indices is None else np.asarray(indices, dtype=np.int64)
    for lo in range(0, len(order), batch_size):
        b = trimmed(corpus.batch(order[lo:lo + batch_size]), corpus.pad_id)
        replies += model.reply(b.context, b.n_turns, method="greedy", max_len=max_len, rng=rng)
    model.train(was)
    return replies


def conversation_lines(corpus: DialogueCorpus, indices, replies: dict[str, list[list[int]]]) -> list[str]:
    """Text lines showing, for each example index: its context turns, each model's reply, the true reply.

    ``replies``: model name -> replies (token ids), the j-th one to example ``indices[j]``.
    """
    vocab, lines = corpus.vocab, []
    for j, i in enumerate(int(i) for i in indices):
        lines.append(f"dev dialogue {int(corpus.dialogue_index[i])}, turn {int(corpus.turn_index[i])}:")
        U, k = corpus.max_turns, int(corpus.n_turns[i])
        for row in corpus.context[i, U - k:]:
            lines.append(f"    {'context:':<9} " + " ".join(vocab.decode(row)))
        for name, r in replies.items():
            lines.append(f"    {name + ':':<9} " + " ".join(vocab.decode(r[j])))
        lines.append(f"    {'true:':<9} " + " ".join(vocab.decode(corpus.responses[i])))
    return lines


def save_dialogue_model(out_dir, name: str, model: HRED, args: dict[str, Any], vocab: Vocabulary,
                        max_turns: int | None = None, max_len: int | None = None) -> list[str]:
    """Write ``<out_dir>/<name>.npz`` (the state dict) and ``<name>.json`` (class, arguments, vocabulary, layout).

    Rebuild with ``cls(**meta["args"])`` (``cls`` = ``HRED`` or ``VHRED`` from ``meta["model"]``), then
    ``load_state_dict(glassnet.load(npz))``; ``meta["vocab"]`` is the id -> token list, ``meta["max_turns"]`` and
    ``meta["max_len"]`` the context layout (U, L) it was trained on. ``glassnet chat <name>.npz`` reads the pair.
    Nothing is written when ``out_dir`` is None. Returns the file names written.
    """
    if out_dir is None:
        return []
    from glassnet.fileio import atomic_write_json
    from glassnet.train import save

    save(model, out_dir / f"{name}.npz")
    meta = {"model": type(model).__name__, "args": args, "vocab": list(vocab.itos), "state_dict": f"{name}.npz"}
    meta.update({k: v for k, v in (("max_turns", max_turns), ("max_len", max_len)) if v is not None})
    atomic_write_json(out_dir / f"{name}.json", meta)
    return [f"{name}.npz", f"{name}.json"]
