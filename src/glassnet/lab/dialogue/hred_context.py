"""hred-context: HRED's context RNN over the previous turns lowers the dev perplexity of the next utterance.

Two models, one budget: ``HRED`` (Serban et al. 2016) reads the last ``max_turns`` utterances through an
utterance GRU and a context GRU; the seq2seq baseline (``HRED(context_rnn=False)``, Vinyals & Le 2015) has the
same utterance encoder, decoder and output layer but is conditioned on the previous utterance alone. Both see
the same SGD training responses in the same batch order, with the same vocabulary (built on the training
dialogues), sizes, optimizer (Adam, gradient norm clipped), learning rate and number of steps; both are
scored on the same dev responses (every turn after the first of the 128 dev dialogues).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, one_blas_thread, verdict_from
from glassnet.lab.dialogue import TOPIC
from glassnet.lab.dialogue.common import (
    build_model,
    conversation_lines,
    corpora,
    generate_replies,
    load_dialogue_splits,
    save_dialogue_model,
    train_dialogue_model,
)

MODELS = ("seq2seq", "hred")  # the baseline first: it is what HRED is measured against


class HREDContext(Experiment):
    name = "hred-context"
    topic = TOPIC
    claim = (
        "A seq2seq model answers one utterance at a time and ignores the rest of the conversation; HRED's context "
        "RNN over the encoded previous utterances lets the reply follow the conversation, so it predicts the next "
        "utterance better."
    )
    criterion = (
        "on SGD (train files 001-012, dev file 001), with the same data, vocabulary, sizes, optimizer, batches "
        "and steps, HRED over the last 3 utterances reaches a lower per-token dev perplexity than the seq2seq "
        "baseline conditioned on the previous utterance only"
    )

    @dataclass
    class Config:
        train_files: int = field(default=0, metadata={"help": "SGD training files read, 001..n (0: the 12 pinned)"})
        max_train: int = field(default=0, metadata={"help": "training dialogues kept (0: all)"})
        max_dev: int = field(default=0, metadata={"help": "dev dialogues kept (0: all 128)"})
        min_freq: int = field(default=5, metadata={"help": "rarer training tokens become <unk>"})
        max_turns: int = field(default=3, metadata={"help": "U, previous utterances HRED reads"})
        max_len: int = field(default=24, metadata={"help": "tokens per context utterance, <eos> included"})
        max_response_len: int = field(default=26, metadata={"help": "tokens per response, <bos> and <eos> included"})
        embed: int = field(default=64, metadata={"help": "embedding size E"})
        hidden: int = field(default=128, metadata={"help": "hidden size of every GRU (utterance, context, decoder)"})
        steps: int = field(default=2000, metadata={"help": "training steps of each model"})
        batch_size: int = field(default=64, metadata={"help": "examples per step"})
        lr: float = field(default=2e-3, metadata={"help": "Adam learning rate"})
        max_norm: float = field(default=5.0, metadata={"help": "gradient-norm clipping threshold"})
        eval_every: int = field(default=200, metadata={"help": "steps between dev perplexity evaluations"})
        reply_len: int = field(default=30, metadata={"help": "most tokens of a generated reply"})
        samples: int = field(default=4, metadata={"help": "dev conversations printed with each model's reply"})

    quick = {"train_files": 1, "max_train": 60, "max_dev": 12, "min_freq": 2, "embed": 16, "hidden": 32,
             "steps": 30, "batch_size": 16, "lr": 5e-3, "eval_every": 10, "reply_len": 12, "samples": 2}
    quick_criterion = ("a smoke test (60 training dialogues, 30 steps, E = 16, H = 32): each model's final dev "
                       "perplexity is below half its perplexity at step 0 (both learn); HRED against the baseline "
                       "is not judged at this size")
    data = ("sgd",)

    def run(self, config, ctx):
        with one_blas_thread():
            return self._run(config, ctx)

    def _run(self, config, ctx):
        splits = load_dialogue_splits(ctx.data_dir, train_files=config.train_files, max_train=config.max_train,
                                      max_dev=config.max_dev, min_freq=config.min_freq)
        views = {"hred": config.max_turns, "seq2seq": 1}
        data = {m: corpora(splits, max_turns=u, max_len=config.max_len, max_response_len=config.max_response_len)
                for m, u in views.items()}
        dev = data["hred"][1]  # the baseline's dev corpus has the same responses in the same order (see corpora)
        picks = np.linspace(0, len(dev) - 1, config.samples + 2).round().astype(np.int64)[1:-1]
        init_seq, order_seq, eval_seq, reply_seq = ctx.spawn_seeds(4)  # shared by both models: one budget
        sizes = {"embed": config.embed, "hidden": config.hidden}
        results = {}
        for m in MODELS:
            def train(m=m):
                model, args = build_model(m, splits.vocab, sizes, np.random.default_rng(init_seq))
                train_corpus, dev_corpus = data[m]
                out = train_dialogue_model(
                    model, train_corpus, dev_corpus, steps=config.steps, batch_size=config.batch_size, lr=config.lr,
                    max_norm=config.max_norm, order_rng=np.random.default_rng(order_seq),
                    eval_rng=np.random.default_rng(eval_seq), eval_every=config.eval_every, progress=ctx.progress,
                    desc=m)
                out["replies"] = generate_replies(model, dev_corpus, np.random.default_rng(reply_seq),
                                                  max_len=config.reply_len, indices=picks)
                out["files"] = save_dialogue_model(ctx.out_dir, m, model, args, splits.vocab,
                                                   max_turns=views[m], max_len=config.max_len)
                return out

            results[m] = ctx.unit(m, train)
            ctx.log(f"{m}: dev perplexity {results[m]['curve'][-1]['perplexity']:.2f}")
        ppl = {m: r["curve"][-1]["perplexity"] for m, r in results.items()}
        start = {m: r["curve"][0]["perplexity"] for m, r in results.items()}
        # not judged (the criterion compares the models after the same budget), shown so that a final value
        # caught on an upward wobble of a curve is visible
        best = {m: min(r["curve"], key=lambda c: c["perplexity"]) for m, r in results.items()}
        if ctx.quick:
            ok = all(ppl[m] < 0.5 * start[m] for m in MODELS)
        else:
            ok = ppl["hred"] < ppl["seq2seq"]
        rows = [{"model": m, "context": f"last {views[m]} utterance{'s' if views[m] > 1 else ''}",
                 "parameters": r["parameters"], "dev perplexity": ppl[m], "at step 0": start[m],
                 "lowest on the way": f"{best[m]['perplexity']:.2f} (step {best[m]['step']})",
                 "steps": config.steps, "training seconds": r["seconds"], "seconds per step": r["seconds_per_step"]}
                for m, r in results.items()]
        metrics = {f"{m}_perplexity": ppl[m] for m in MODELS}
        metrics.update({f"{m}_seconds_per_step": results[m]["seconds_per_step"] for m in MODELS},
                       **{f"{m}_lowest_perplexity": best[m]["perplexity"] for m in MODELS},
                       perplexity_ratio=ppl["hred"] / ppl["seq2seq"], vocabulary=len(splits.vocab),
                       train_examples=len(data["hred"][0]), dev_examples=len(dev))
        self._plot(ctx, results)
        notes = [f"{len(splits.train)} training dialogues ({len(data['hred'][0])} responses), {len(splits.dev)} dev "
                 f"dialogues ({len(dev)} responses), vocabulary {len(splits.vocab)} (min. frequency "
                 f"{config.min_freq}); perplexity = exp(summed NLL / tokens), <eos> counted, <unk> targets kept.",
                 "Sample dev conversations (greedy replies; the baseline saw only the last context line):"]
        notes += conversation_lines(dev, picks, {m: results[m]["replies"] for m in MODELS})
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _plot(ctx, results):
        # step 0 (perplexity ~ V) would flatten the end, where the models differ: a log axis, and a zoom on it
        fig, (ax_all, ax_end) = ctx.figure(1, 2)
        last = max(c["step"] for r in results.values() for c in r["curve"])
        for m, r in results.items():
            label = {"hred": "HRED (context RNN)", "seq2seq": "seq2seq (previous utterance)"}[m]
            steps, ppl = zip(*[(c["step"], c["perplexity"]) for c in r["curve"]])
            ax_all.plot(steps, ppl, marker=".", label=label)
            end = [(s, p) for s, p in zip(steps, ppl) if s >= last / 2]
            ax_end.plot(*zip(*end), marker=".", label=label)
        plotting.style(ax_all, title="dev perplexity during training", xlabel="training step",
                       ylabel="per-token perplexity (log scale)", log=True)
        plotting.style(ax_end, title="the second half of training", xlabel="training step",
                       ylabel="per-token perplexity")
        ctx.savefig(fig, "dev_perplexity")
