"""language-model: RNN and LSTM language models on real text (tiny-shakespeare chars, PTB words) against a unigram."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

import glassnet.functional as F
from glassnet.data.datasets import join_sentences, load_ptb, load_tinyshakespeare
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.recurrent.adding import TOPIC
from glassnet.optim import Adam
from glassnet.train.step import train_step
from glassnet.zoo.rnnlm import RNNLM, batchify, perplexity


def _unigram_perplexity(train: np.ndarray, test: np.ndarray, V: int) -> float:
    """Perplexity of add-one-smoothed token frequencies of ``train`` on ``test`` (every token independent)."""
    counts = np.bincount(train, minlength=V) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[test].mean()))


def _char_corpus(root, quick_chars: int | None):
    text = load_tinyshakespeare(root=root)
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    tokens = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    cut = int(0.9 * len(tokens))  # first 90% train, last 10% test (contiguous: no leakage between them)
    train, test = tokens[:cut], tokens[cut:]
    if quick_chars:
        train, test = train[:quick_chars], test[: quick_chars // 10]
    return train, test, chars, "".join


def _word_corpus(root, quick_words: int | None):
    valid = join_sentences(load_ptb("valid", root=root))
    test = join_sentences(load_ptb("test", root=root))
    if quick_words:
        valid, test = valid[:quick_words], test[: quick_words // 2]
    # the PTB vocabulary is fixed by its preprocessing (10k types incl. <unk>); the types of the two splits stand
    # in for it, so a test word unseen in training is still a known type
    vocab = sorted(set(valid) | set(test))
    lookup = {w: i for i, w in enumerate(vocab)}
    train_ids = np.array([lookup[w] for w in valid], dtype=np.int64)
    test_ids = np.array([lookup[w] for w in test], dtype=np.int64)
    return train_ids, test_ids, vocab, " ".join


class LanguageModel(Experiment):
    name = "language-model"
    topic = TOPIC
    claim = (
        "A recurrent language model predicts real text far better than word or character frequencies alone, "
        "and an LSTM better than a simple RNN with the same hidden size."
    )
    criterion = (
        "held-out perplexity on both corpora (tiny-shakespeare characters: last 10% of the text; PTB words: "
        "trained on the valid split, scored on the test split): LSTM < simple RNN and LSTM < add-one unigram"
    )

    @dataclass
    class Config:
        char_hidden: int = field(default=128, metadata={"help": "hidden units H, character models"})
        char_embed: int = field(default=32, metadata={"help": "embedding size E, character models"})
        char_steps: int = field(default=600, metadata={"help": "training steps per character model"})
        char_chars: int = field(default=0, metadata={"help": "use only this many training characters (0: all)"})
        word_hidden: int = field(default=200, metadata={"help": "hidden units H, word models"})
        word_embed: int = field(default=200, metadata={"help": "embedding size E, word models"})
        word_steps: int = field(default=500, metadata={"help": "training steps per word model"})
        word_words: int = field(default=0, metadata={"help": "use only this many training words (0: all)"})
        word_dropout: float = field(default=0.3, metadata={"help": "dropout of the word models"})
        batch_size: int = field(default=32, metadata={"help": "parallel rows of the token stream N"})
        bptt: int = field(default=35, metadata={"help": "truncated-BPTT length T (the state carries over)"})
        lr: float = field(default=0.003, metadata={"help": "Adam learning rate"})
        max_norm: float = field(default=1.0, metadata={"help": "gradient-norm clipping"})
        sample_length: int = field(default=200, metadata={"help": "tokens sampled from each LSTM for the notes"})
        temperature: float = field(default=0.8, metadata={"help": "sampling temperature"})

    quick = {"char_hidden": 64, "char_steps": 60, "char_chars": 40_000, "word_hidden": 64, "word_embed": 64,
             "word_steps": 30, "word_words": 20_000, "sample_length": 60, "batch_size": 16, "bptt": 20}
    quick_criterion = ("a smoke test of the pipeline (60 and 30 steps on 40k characters / 20k words): both recurrent "
                       "models below the unigram on characters; the verdict applies the full rule to these tiny models")
    data = ("tinyshakespeare", "ptb")

    def run(self, config, ctx):
        corpora = {
            "tiny-shakespeare (chars)": (_char_corpus(ctx.data_dir, config.char_chars or None),
                                         config.char_embed, config.char_hidden, config.char_steps, 0.0, "ROMEO:"),
            "PTB (words)": (_word_corpus(ctx.data_dir, config.word_words or None),
                            config.word_embed, config.word_hidden, config.word_steps, config.word_dropout, "the"),
        }
        rows, curves, notes, ppl = [], {}, [], {}
        for corpus, ((train, test, vocab, join), E, H, steps, dropout, prompt) in corpora.items():
            V = len(vocab)
            ppl[(corpus, "unigram")] = _unigram_perplexity(train, test, V)
            rows.append({"corpus": corpus, "model": "unigram", "params": V, "train tokens": len(train),
                         "test perplexity": ppl[(corpus, "unigram")], "seconds": 0.0})
            for cell in ("rnn", "lstm"):
                init_seq, sample_seq = ctx.spawn_seeds(2)

                def train_one(cell=cell, corpus=corpus, train=train, test=test, vocab=vocab, join=join, E=E, H=H,
                              steps=steps, dropout=dropout, prompt=prompt, V=V, init_seq=init_seq,
                              sample_seq=sample_seq):
                    start = time.perf_counter()
                    model = RNNLM(V, E, H, cell=cell, dropout=dropout, stateful=True,
                                  rng=np.random.default_rng(init_seq))
                    curve = _train(model, train, steps, config, ctx.progress, f"{cell} {corpus}")
                    value = perplexity(model, test, config.batch_size, config.bptt)
                    row = {"corpus": corpus, "model": cell, "params": model.num_parameters(),
                           "train tokens": len(train), "test perplexity": value,
                           "seconds": round(time.perf_counter() - start, 1)}
                    note = None
                    if cell == "lstm":
                        lookup = {t: i for i, t in enumerate(vocab)}
                        prefix = [lookup[t] for t in (prompt if corpus.endswith("(chars)") else prompt.split())]
                        sample = model.generate(prefix, config.sample_length, config.temperature,
                                                rng=np.random.default_rng(sample_seq))
                        text = join([vocab[i] for i in prefix + sample])
                        note = f"LSTM sample, {corpus}, temperature {config.temperature}: {text!r}"
                    return {"curve": curve, "perplexity": value, "row": row, "note": note}

                key = f"{'char' if corpus.endswith('(chars)') else 'word'}-{cell}"
                done = ctx.unit(key, train_one)  # resumable: --resume skips the models already trained
                curves[(corpus, cell)] = done["curve"]
                ppl[(corpus, cell)] = done["perplexity"]
                rows.append(done["row"])
                if done["note"]:
                    notes.append(done["note"])
                ctx.log(f"{corpus} {cell}: test perplexity {ppl[(corpus, cell)]:.2f}")

        fig, axes = ctx.figure(1, 2, size=(11, 4))
        for i, corpus in enumerate(corpora):
            for cell, ls in (("rnn", "--"), ("lstm", "-")):
                c = curves[(corpus, cell)]
                axes[i].plot(np.exp(_smooth(c)), ls=ls, label=f"{cell} (train, 10-step mean)")
                axes[i].axhline(ppl[(corpus, cell)], ls=ls, color="k" if cell == "lstm" else "0.5", lw=1,
                                label=f"{cell} test {ppl[(corpus, cell)]:.1f}")
            uni = ppl[(corpus, "unigram")]
            axes[i].axhline(uni, color="C3", lw=1, label=f"unigram test {uni:.1f}")
            plotting.style(axes[i], title=corpus, xlabel="training step", ylabel="perplexity (per token)",
                           log=True)
        ctx.savefig(fig, "perplexity")

        ok = all(ppl[(c, "lstm")] < ppl[(c, "rnn")] and ppl[(c, "lstm")] < ppl[(c, "unigram")] for c in corpora)
        key = {"tiny-shakespeare (chars)": "char", "PTB (words)": "word"}
        metrics = {f"{key[c]}_{m}_perplexity": v for (c, m), v in ppl.items()}
        for c in corpora:
            notes.insert(0, f"{c}: perplexity ratio LSTM/RNN {ppl[(c, 'lstm')] / ppl[(c, 'rnn')]:.3f}, "
                            f"LSTM/unigram {ppl[(c, 'lstm')] / ppl[(c, 'unigram')]:.3f}.")
        notes.insert(0, f"Truncated BPTT: {config.batch_size} parallel rows, {config.bptt} steps per update, state "
                        f"carried across chunks; Adam lr {config.lr}, gradient norm clipped at {config.max_norm}.")
        return Outcome(verdict_from(ok), metrics, rows, notes)


def _smooth(losses, k: int = 10) -> np.ndarray:
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) < k:
        return losses
    return np.convolve(losses, np.ones(k) / k, mode="valid")


def _train(model: RNNLM, tokens: np.ndarray, steps: int, config, progress, desc: str) -> list[float]:
    """Truncated BPTT over the stream ``tokens``: ``steps`` updates, wrapping around (and resetting the state)."""
    rows = batchify(tokens, config.batch_size)  # (N, S/N)
    opt = Adam(list(model.parameters()), lr=config.lr)
    losses, start = [], 0
    model.train()
    model.reset_state()
    for step in progress(range(1, steps + 1), desc=desc):
        if start + config.bptt + 1 > rows.shape[1]:  # end of the stream: start a new pass
            start = 0
            model.reset_state()
        x = rows[:, start:start + config.bptt]  # (N, T)
        y = rows[:, start + 1:start + 1 + config.bptt]  # (N, T) next tokens
        start += config.bptt
        # the layer carries its state to the next chunk, graph cut; logits (N, T, V)
        losses.append(train_step(opt, lambda: F.softmax_cross_entropy(model(x)[0], y), max_norm=config.max_norm,
                                 where=step, model=model).loss)
    model.reset_state()
    return losses
