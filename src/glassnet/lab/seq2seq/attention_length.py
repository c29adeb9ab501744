"""attention-length: copying digit strings, the plain encoder-decoder degrades as inputs grow, attention holds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, one_blas_thread, verdict_from
from glassnet.lab.seq2seq.pairs import TOPIC, encode_pairs, train_seq2seq
from glassnet.text import Vocabulary
from glassnet.zoo.seq2seq import Seq2Seq

DIGITS = [str(d) for d in range(10)]


def copy_task(n: int, lengths: np.ndarray, rng) -> list[list[str]]:
    """``n`` random digit strings with lengths drawn from ``lengths``; the target is the input itself."""
    ls = rng.choice(lengths, n)
    return [[DIGITS[d] for d in rng.integers(0, 10, L)] for L in ls]


class AttentionLength(Experiment):
    name = "attention-length"
    topic = TOPIC
    claim = (
        "A plain encoder-decoder must squeeze the whole input into one fixed-size state, so its accuracy falls "
        "as inputs grow; with attention the decoder reads every encoder state and its accuracy holds."
    )
    criterion = (
        "copying random digit strings, per-digit accuracy of greedy outputs at the longest length: attention "
        ">= 0.9 and at least 0.2 above the plain model, and the plain model's accuracy at the longest length is "
        "below its accuracy at the shortest"
    )

    @dataclass
    class Config:
        lengths: tuple = field(default=(5, 10, 15, 20, 25, 30), metadata={"help": "input lengths, trained and tested"})
        train: int = field(default=20000, metadata={"help": "training strings (lengths drawn uniformly)"})
        test_per_length: int = field(default=200, metadata={"help": "held-out strings per length"})
        embed: int = field(default=16, metadata={"help": "embedding size E"})
        hidden: int = field(default=64, metadata={"help": "LSTM hidden size H (the plain model's bottleneck)"})
        steps: int = field(default=2000, metadata={"help": "training steps per model"})
        batch_size: int = field(default=64, metadata={"help": "strings per step"})
        lr: float = field(default=0.005, metadata={"help": "Adam learning rate"})
        attention: str = field(default="dot", metadata={"help": "attention score: dot, general, additive"})

    quick = {"lengths": (4, 16), "train": 3000, "test_per_length": 60, "hidden": 32, "steps": 450}
    quick_criterion = ("the full rule at lengths 4 and 16 with H = 32 after 450 steps: attention >= 0.9 and 0.2 above "
                       "plain at 16, plain worse at 16 than at 4")

    def run(self, config, ctx):
        with one_blas_thread():
            return self._run(config, ctx)

    def _run(self, config, ctx):
        lengths = np.array(config.lengths)
        vocab = Vocabulary.build([DIGITS])
        train_seqs = copy_task(config.train, lengths, ctx.rng)
        train = encode_pairs(vocab, vocab, train_seqs, train_seqs)
        tests = {}
        for L in lengths:
            seqs = copy_task(config.test_per_length, np.array([L]), ctx.rng)
            tests[int(L)] = (encode_pairs(vocab, vocab, seqs, seqs), seqs)
        init_seq, batch_seq = ctx.spawn_seeds(2)  # both models start from the same weights and see the same batches
        acc: dict[str, dict[int, float]] = {}
        for kind in ("plain", "attention"):
            model = Seq2Seq(len(vocab), len(vocab), config.embed, config.hidden,
                            attention=None if kind == "plain" else config.attention,
                            bos_id=vocab.bos_id, eos_id=vocab.eos_id, pad_id=vocab.pad_id,
                            rng=np.random.default_rng(init_seq))
            train_seq2seq(model, train, config.steps, config.batch_size, config.lr, np.random.default_rng(batch_seq),
                          ctx, kind)
            acc[kind] = {L: _digit_accuracy(model, arrays, seqs, vocab, L) for L, (arrays, seqs) in tests.items()}
            ctx.log(f"{kind}: per-digit accuracy " + ", ".join(f"{v:.3f} at length {L}" for L, v in acc[kind].items()))
        rows = [{"length": L, "plain": acc["plain"][L], "attention": acc["attention"][L]} for L in tests]

        fig, ax = ctx.figure(size=(6, 4))
        for kind in acc:
            ax.plot(list(acc[kind]), list(acc[kind].values()), marker="o", label=kind)
        ax.set_ylim(0, 1.02)
        plotting.style(ax, title=f"copy task, H = {config.hidden}", xlabel="input length (digits)",
                       ylabel="per-digit accuracy (greedy decoding)")
        ctx.savefig(fig, "accuracy_vs_length")

        short, long = int(lengths.min()), int(lengths.max())
        ok = (acc["attention"][long] >= 0.9 and acc["attention"][long] >= acc["plain"][long] + 0.2
              and acc["plain"][long] < acc["plain"][short])
        metrics = {f"{k}_len{L}": v for k in acc for L, v in acc[k].items()}
        return Outcome(verdict_from(ok), metrics, rows)


def _digit_accuracy(model, arrays, seqs, vocab, L: int) -> float:
    """Fraction of positions ``i < L`` where the greedy output's digit equals the input's (missing = wrong)."""
    src, lengths, _ = arrays
    out = model.greedy(src, lengths, max_len=L + 2)
    right = 0
    for o, s in zip(out, seqs):
        o = vocab.decode(o)
        right += sum(a == b for a, b in zip(o[:L], s))
    return right / (L * len(seqs))
