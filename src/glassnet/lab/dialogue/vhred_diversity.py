"""vhred-diversity: VHRED's latent variable gives more varied replies than HRED at about the same perplexity.

HRED (Serban et al. 2016) and VHRED (Serban et al. 2017) share the data, vocabulary, sizes, optimizer,
batches and steps. VHRED is trained on the negative ELBO with the KL weight rising linearly from 0
(:func:`~glassnet.zoo.hred.linear_kl_weight`, Bowman et al. 2016) and word dropout on its decoder inputs,
the two standard cures for the KL term collapsing to zero; HRED has neither (its loss has no KL term, and
word dropout would only handicap it).

Measurements, all on the SGD dev file:

* perplexity: HRED's exact per-token perplexity; VHRED's ELBO bound
  ``exp((Σ_t -log p(y_t | y_<t, c, z) + Σ_n KL_n) / #tokens)`` with one posterior sample per response (an
  upper bound on its true perplexity, so the comparison can only disfavour VHRED); the reconstruction-only
  figure is reported beside it, not judged;
* KL per utterance: ``KL(q(z | c, r) || p(z | c))`` in nats, averaged over dev responses (near 0 = collapse);
* diversity of the replies generated for every dev context: distinct-1 and distinct-2 over the whole corpus
  of replies, mean length, and the share of replies that are one of the ten most frequent ones.

Decoding: HRED replies greedily; VHRED draws ``z ~ p(z | c)`` once per context and then decodes greedily given
``[c; z]``. The decoding rule is the same deterministic one for both, so any extra diversity comes from the
latent variable the claim is about, not from sampling words (which would raise both models' distinct-n
regardless of the model).

What the comparison does not separate: VHRED is trained with word dropout and HRED is not, so a difference
credits VHRED's whole recipe (latent variable, KL annealing, word dropout), not ``z`` alone. The KL per
utterance shows how much the latent carries; a KL near 0 nats means the posterior collapsed onto the prior
and ``z`` can change little.
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
from glassnet.text import distinct_n, generic_response_share, mean_length

MODELS = ("hred", "vhred")
PPL_TOLERANCE = 1.10  # "within 10% of HRED's"


class VHREDDiversity(Experiment):
    name = "vhred-diversity"
    topic = TOPIC
    claim = (
        "HRED trained by maximum likelihood tends to give short, safe, always-the-same answers; VHRED's latent "
        "variable per response (a VAE inside the dialogue model) lets it give different answers, at about the "
        "same perplexity."
    )
    criterion = (
        "on SGD (train files 001-012, dev file 001), same data, vocabulary, sizes, optimizer, batches and steps: "
        "VHRED's dev perplexity (its ELBO bound) is at most 1.10 x HRED's, and on the replies generated for the "
        "dev contexts (HRED greedy; VHRED z ~ prior, then greedy) VHRED's corpus distinct-2 is higher and its "
        "share of replies among the ten most frequent replies is lower than HRED's"
    )

    @dataclass
    class Config:
        train_files: int = field(default=0, metadata={"help": "SGD training files read, 001..n (0: the 12 pinned)"})
        max_train: int = field(default=0, metadata={"help": "training dialogues kept (0: all)"})
        max_dev: int = field(default=0, metadata={"help": "dev dialogues kept (0: all 128)"})
        min_freq: int = field(default=5, metadata={"help": "rarer training tokens become <unk>"})
        max_turns: int = field(default=3, metadata={"help": "U, previous utterances both models read"})
        max_len: int = field(default=24, metadata={"help": "tokens per context utterance, <eos> included"})
        max_response_len: int = field(default=26, metadata={"help": "tokens per response, <bos> and <eos> included"})
        embed: int = field(default=64, metadata={"help": "embedding size E"})
        hidden: int = field(default=128, metadata={"help": "hidden size of every GRU and of VHRED's prior and "
                                                           "posterior MLPs"})
        latent: int = field(default=32, metadata={"help": "Z, VHRED's latent size"})
        word_dropout: float = field(default=0.25, metadata={"help": "VHRED's decoder-input word dropout rate"})
        kl_anneal_steps: int = field(default=1000, metadata={"help": "steps over which VHRED's KL weight rises "
                                                                     "from 0 to 1"})
        steps: int = field(default=2000, metadata={"help": "training steps of each model"})
        batch_size: int = field(default=64, metadata={"help": "examples per step"})
        lr: float = field(default=2e-3, metadata={"help": "Adam learning rate"})
        max_norm: float = field(default=5.0, metadata={"help": "gradient-norm clipping threshold"})
        eval_every: int = field(default=200, metadata={"help": "steps between dev evaluations"})
        reply_len: int = field(default=30, metadata={"help": "most tokens of a generated reply"})
        samples: int = field(default=4, metadata={"help": "dev conversations printed with each model's reply"})

    quick = {"train_files": 1, "max_train": 60, "max_dev": 12, "min_freq": 2, "embed": 16, "hidden": 32,
             "latent": 8, "kl_anneal_steps": 15, "steps": 30, "batch_size": 16, "lr": 5e-3, "eval_every": 10,
             "reply_len": 12, "samples": 2}
    quick_criterion = ("a smoke test (60 training dialogues, 30 steps, E = 16, H = 32, Z = 8): each model's final "
                       "dev perplexity is below half its step-0 value, VHRED's dev KL per utterance is finite and "
                       "> 0, and every diversity figure lies in [0, 1]; the full rule is not judged at this size")
    data = ("sgd",)

    def run(self, config, ctx):
        with one_blas_thread():
            return self._run(config, ctx)

    def _run(self, config, ctx):
        splits = load_dialogue_splits(ctx.data_dir, train_files=config.train_files, max_train=config.max_train,
                                      max_dev=config.max_dev, min_freq=config.min_freq)
        train, dev = corpora(splits, max_turns=config.max_turns, max_len=config.max_len,
                             max_response_len=config.max_response_len)
        picks = np.linspace(0, len(dev) - 1, config.samples + 2).round().astype(np.int64)[1:-1]
        init_seq, order_seq, eval_seq, reply_seq = ctx.spawn_seeds(4)  # shared by both models: one budget
        sizes = {"embed": config.embed, "hidden": config.hidden, "latent": config.latent,
                 "word_dropout": config.word_dropout}
        results = {}
        for m in MODELS:
            def fit(m=m):
                model, args = build_model(m, splits.vocab, sizes, np.random.default_rng(init_seq))
                out = train_dialogue_model(
                    model, train, dev, steps=config.steps, batch_size=config.batch_size, lr=config.lr,
                    max_norm=config.max_norm, order_rng=np.random.default_rng(order_seq),
                    eval_rng=np.random.default_rng(eval_seq), eval_every=config.eval_every, progress=ctx.progress,
                    desc=m, kl_anneal_steps=config.kl_anneal_steps)
                replies = generate_replies(model, dev, np.random.default_rng(reply_seq), max_len=config.reply_len)
                out.update(distinct_1=distinct_n(replies, 1), distinct_2=distinct_n(replies, 2),
                           mean_length=mean_length(replies), generic_share=generic_response_share(replies, 10),
                           distinct_replies=len({tuple(r) for r in replies}),
                           samples=[replies[i] for i in picks.tolist()])
                out["files"] = save_dialogue_model(ctx.out_dir, m, model, args, splits.vocab,
                                                   max_turns=config.max_turns, max_len=config.max_len)
                return out

            results[m] = ctx.unit(m, fit)
            r = results[m]
            ctx.log(f"{m}: dev perplexity {r['curve'][-1]['perplexity']:.2f}, KL/utterance "
                    f"{r['curve'][-1]['kl_per_utterance']:.2f}, distinct-2 {r['distinct_2']:.4f}, "
                    f"generic share {r['generic_share']:.3f}")
        final = {m: r["curve"][-1] for m, r in results.items()}
        h, v = results["hred"], results["vhred"]
        ppl_ok = final["vhred"]["perplexity"] <= PPL_TOLERANCE * final["hred"]["perplexity"]
        diverse = v["distinct_2"] > h["distinct_2"]
        less_generic = v["generic_share"] < h["generic_share"]
        if ctx.quick:
            kl = final["vhred"]["kl_per_utterance"]
            ok = (all(final[m]["perplexity"] < 0.5 * results[m]["curve"][0]["perplexity"] for m in MODELS)
                  and np.isfinite(kl) and kl > 0
                  and all(0 <= r[k] <= 1 for r in results.values()
                          for k in ("distinct_1", "distinct_2", "generic_share")))
        else:
            ok = ppl_ok and diverse and less_generic
        rows = [{"model": m, "dev perplexity": final[m]["perplexity"],
                 "reconstruction ppl": final[m]["reconstruction_perplexity"],
                 "KL / utterance (nats)": final[m]["kl_per_utterance"], "distinct-1": r["distinct_1"],
                 "distinct-2": r["distinct_2"], "mean length": r["mean_length"], "generic share": r["generic_share"],
                 "distinct replies": r["distinct_replies"], "seconds per step": r["seconds_per_step"]}
                for m, r in results.items()]
        metrics = {f"{m}_{k}": results[m][k] for m in MODELS
                   for k in ("distinct_1", "distinct_2", "mean_length", "generic_share", "seconds_per_step")}
        metrics.update({f"{m}_perplexity": final[m]["perplexity"] for m in MODELS},
                       vhred_reconstruction_perplexity=final["vhred"]["reconstruction_perplexity"],
                       vhred_kl_per_utterance=final["vhred"]["kl_per_utterance"],
                       perplexity_ratio=final["vhred"]["perplexity"] / final["hred"]["perplexity"],
                       perplexity_within_10_percent=bool(ppl_ok), distinct_2_higher=bool(diverse),
                       generic_share_lower=bool(less_generic), vocabulary=len(splits.vocab),
                       train_examples=len(train), dev_examples=len(dev))
        self._plot(ctx, results, config)
        notes = [f"{len(splits.train)} training dialogues ({len(train)} responses), {len(splits.dev)} dev dialogues "
                 f"({len(dev)} responses and as many generated replies per model), vocabulary {len(splits.vocab)}.",
                 "VHRED's dev perplexity is its ELBO bound (reconstruction with one z ~ q(z|c,r), plus the KL); the "
                 "reconstruction column alone is not a bound and is not judged. HRED's two columns are equal.",
                 f"VHRED: KL weight 0 -> 1 linearly over {config.kl_anneal_steps} steps, word dropout "
                 f"{config.word_dropout}. Replies: HRED greedy; VHRED z ~ p(z|c) then greedy.",
                 "Sample dev conversations:"]
        notes += conversation_lines(dev, picks, {m: results[m]["samples"] for m in MODELS})
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _plot(ctx, results, config):
        fig, (ax_ppl, ax_kl) = ctx.figure(1, 2)
        for m, r in results.items():
            steps = [c["step"] for c in r["curve"]]
            label = {"hred": "HRED", "vhred": "VHRED (ELBO bound)"}[m]
            ax_ppl.plot(steps, [c["perplexity"] for c in r["curve"]], marker=".", label=label)
        v = results["vhred"]
        steps = [c["step"] for c in v["curve"]]
        ax_ppl.plot(steps, [c["reconstruction_perplexity"] for c in v["curve"]], color="C1", linestyle="--",
                    label="VHRED reconstruction only")
        plotting.style(ax_ppl, title="dev perplexity", xlabel="training step",
                       ylabel="per-token perplexity (log scale)", log=True)
        kl = np.asarray(v["train_kl"], dtype=float)
        window = max(1, min(50, len(kl) // 10))
        smooth = np.convolve(kl, np.ones(window) / window, mode="valid")  # running mean over `window` steps
        ax_kl.plot(np.arange(window, len(kl) + 1), smooth, color="C1", alpha=0.5,
                   label=f"training batches (mean of {window} steps)")
        ax_kl.plot(steps, [c["kl_per_utterance"] for c in v["curve"]], color="C1", marker="o", label="dev")
        ax_kl.axvline(config.kl_anneal_steps, color="gray", linestyle=":", label="KL weight reaches 1")
        plotting.style(ax_kl, title="VHRED: KL(q || p) per utterance", xlabel="training step", ylabel="nats")
        ctx.savefig(fig, "perplexity_and_kl")
