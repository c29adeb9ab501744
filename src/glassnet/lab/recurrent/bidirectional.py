"""bidirectional: when each label depends on later inputs, a bidirectional RNN sees what a unidirectional one cannot."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.data.datasets.generated import appears_later, appears_later_ceiling
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.recurrent.adding import TOPIC, recurrent_layer
from glassnet.optim import Adam
from glassnet.train.step import train_step


class Tagger(nn.Module):
    """Embedding -> recurrent layer -> Linear to 2 classes at every step: ``x (N, T)`` ints -> logits ``(N, T, 2)``."""

    def __init__(self, cell: str, K: int, embed: int, hidden: int, bidirectional: bool, rng):
        super().__init__()
        self.embed = nn.Embedding(K, embed, rng=rng)
        self.rec = recurrent_layer(cell, embed, hidden, rng=rng, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), 2, rng=rng)

    def forward(self, x):
        hs, _ = self.rec(self.embed(x))  # (N, T, dirs·H)
        return self.head(hs)  # (N, T, 2)


class Bidirectional(Experiment):
    name = "bidirectional"
    topic = TOPIC
    claim = (
        "When a label depends on later inputs, a bidirectional RNN, which also reads the sequence backwards, "
        "beats a unidirectional RNN, which can only guess from what it has seen so far."
    )
    criterion = (
        "task: does symbol x_t occur again later? The unidirectional model (given at least as many parameters) "
        "stays within 2 points of the best accuracy any past-only predictor can reach (computed exactly), and the "
        "bidirectional model exceeds that ceiling by at least 10 points, on held-out sequences"
    )

    @dataclass
    class Config:
        T: int = field(default=20, metadata={"help": "sequence length"})
        K: int = field(default=8, metadata={"help": "number of symbols"})
        cell: str = field(default="gru", metadata={"help": "recurrent layer: rnn, lstm or gru"})
        embed: int = field(default=16, metadata={"help": "embedding size E"})
        hidden: int = field(default=32, metadata={"help": "hidden units per direction of the bidirectional model"})
        train_size: int = field(default=4000, metadata={"help": "training sequences"})
        test_size: int = field(default=2000, metadata={"help": "held-out sequences"})
        steps: int = field(default=1500, metadata={"help": "training steps"})
        batch_size: int = field(default=64, metadata={"help": "sequences per step"})
        lr: float = field(default=0.01, metadata={"help": "Adam learning rate"})
        eval_every: int = field(default=100, metadata={"help": "steps between held-out evaluations"})

    quick = {"steps": 300, "train_size": 2000, "test_size": 1000, "hidden": 24, "eval_every": 50}
    quick_criterion = ("the full rule on a smaller run (H = 24, 2000 training sequences, 300 steps): uni within 2 "
                       "points of the past-only ceiling, bi at least 10 points above it")

    def run(self, config, ctx):
        train_seq, test_seq, batch_seq, init_seq = ctx.spawn_seeds(4)  # the batches and init shared by both models
        x_train, y_train = appears_later(config.train_size, config.T, config.K, rng=np.random.default_rng(train_seq))
        x_test, y_test = appears_later(config.test_size, config.T, config.K, rng=np.random.default_rng(test_seq))
        ceiling = appears_later_ceiling(config.T, config.K)
        # the unidirectional model gets the smallest H with at least the bidirectional model's parameter count
        size = lambda H, bi: Tagger(config.cell, config.K, config.embed, H, bi, 0).num_parameters()
        bi_size = size(config.hidden, True)
        uni_hidden = next(H for H in range(config.hidden, 4 * config.hidden) if size(H, False) >= bi_size)
        rows, curves = [], {}
        for label, bi, hidden in (("unidirectional", False, uni_hidden), ("bidirectional", True, config.hidden)):
            def train_one(label=label, bi=bi, hidden=hidden):
                model = Tagger(config.cell, config.K, config.embed, hidden, bi, np.random.default_rng(init_seq))
                opt = Adam(list(model.parameters()), lr=config.lr)
                batches = np.random.default_rng(batch_seq)
                curve = []
                for step in ctx.progress(range(1, config.steps + 1), desc=label):
                    idx = batches.integers(0, config.train_size, config.batch_size)
                    train_step(opt, lambda: F.softmax_cross_entropy(model(x_train[idx]), y_train[idx]), where=step,
                               model=model)
                    if step % config.eval_every == 0:
                        curve.append((step, _accuracy(model, x_test, y_test)))
                acc = _accuracy(model, x_test, y_test)
                per_step = _accuracy(model, x_test, y_test, axis=0).tolist()
                return {"curve": curve, "row": {"model": label, "hidden": hidden, "params": model.num_parameters(),
                                                "test accuracy": acc, "minus ceiling": acc - ceiling,
                                                "_per_step": per_step}}

            done = ctx.unit(label, train_one)  # resumable: --resume skips a model already trained
            curves[label] = [tuple(p) for p in done["curve"]]
            rows.append(done["row"])
            ctx.log(f"{label}: test accuracy {done['row']['test accuracy']:.4f} (past-only ceiling {ceiling:.4f})")

        fig, axes = ctx.figure(1, 2, size=(11, 4))
        for label, curve in curves.items():
            axes[0].plot(*zip(*curve), marker=".", label=label)
        axes[0].axhline(ceiling, color="k", ls="--", lw=1, label="best past-only accuracy")
        plotting.style(axes[0], title="does x_t occur again later?", xlabel="training step",
                       ylabel="held-out accuracy (share of positions)")
        p = 1.0 - (1.0 - 1.0 / config.K) ** (config.T - 1 - np.arange(config.T))
        for r in rows:
            axes[1].plot(np.arange(config.T), r["_per_step"], marker=".", label=r["model"])
        axes[1].plot(np.arange(config.T), np.maximum(p, 1 - p), "k--", lw=1, label="past-only ceiling")
        plotting.style(axes[1], title="accuracy per position", xlabel="time step t",
                       ylabel="held-out accuracy (share of sequences)")
        ctx.savefig(fig, "uni_vs_bi")

        for r in rows:
            del r["_per_step"]
        uni, bi = rows
        ok = uni["test accuracy"] <= ceiling + 0.02 and bi["test accuracy"] >= ceiling + 0.10
        metrics = {"uni_accuracy": uni["test accuracy"], "bi_accuracy": bi["test accuracy"],
                   "past_only_ceiling": ceiling, "uni_params": uni["params"], "bi_params": bi["params"]}
        notes = [
            f"Past-only ceiling {ceiling:.4f}: the future symbols are independent of the past, so at step t the "
            "best a unidirectional model can do is answer the likelier label for position t, "
            "P(x_t recurs) = 1 - (1 - 1/K)^(T-1-t).",
            "The bidirectional layer's backward direction has read x_T..x_t when it reaches t, so it can hold the "
            "set of later symbols in its state and compare.",
        ]
        return Outcome(verdict_from(ok), metrics, rows, notes)


def _accuracy(model, x, y, axis=None):
    with no_grad():
        right = model(x).data.argmax(axis=-1) == y  # (N, T)
    return right.mean(axis=axis) if axis is not None else float(right.mean())
