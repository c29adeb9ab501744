"""translate-enja: English -> Japanese with an attention seq2seq on small_parallel_enja; BLEU on the dev split.

Training is resumable: every ``checkpoint_every`` steps the model, the Adam state, the batch sampler's RNG and
the losses so far are written atomically to ``<out>/checkpoint.npz`` (the ``glassnet.train`` checkpoint
format); a rerun with the same ``--out`` folder, seed and config continues from it and ends with exactly the
parameters an uninterrupted run reaches (one BLAS thread, the same batches in the same order).

Baselines, fixed before the model was measured:

* the untrained model (the same network at its initial weights): what training adds;
* retrieval: for each dev sentence, the Japanese side of the training pair whose English side is most similar
  (TF-IDF cosine over the corpus's tokens) — a translation memory, which is strong on this corpus because the
  Tanaka corpus repeats many sentence patterns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from glassnet.data.datasets import load_small_parallel_enja
from glassnet.errors import ConfigError
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, one_blas_thread, verdict_from
from glassnet.lab.seq2seq.pairs import TOPIC, encode_pairs, train_seq2seq
from glassnet.optim import Adam
from glassnet.text import Vocabulary, corpus_bleu
from glassnet.train import Checkpoint, load_checkpoint, save_checkpoint
from glassnet.zoo.seq2seq import Seq2Seq

CHECKPOINT = "checkpoint.npz"


class TranslateEnJa(Experiment):
    name = "translate-enja"
    topic = TOPIC
    claim = (
        "An attention encoder-decoder trained on 50,000 English-Japanese sentence pairs translates unseen "
        "English sentences into Japanese: its dev-set BLEU is well above what a translation memory (the "
        "Japanese of the most similar training sentence) and the untrained network score."
    )
    criterion = (
        "corpus BLEU (sacrebleu, the corpus's own tokens) of greedy translations of the 500 dev sentences is at "
        "least 2 points above the retrieval baseline's and at least 10 points above the untrained model's"
    )

    @dataclass
    class Config:
        train_pairs: int = field(default=50000, metadata={"help": "training pairs used (the first ones)"})
        dev_pairs: int = field(default=500, metadata={"help": "dev pairs scored"})
        min_freq: int = field(default=3, metadata={"help": "rarer tokens become <unk>"})
        embed: int = field(default=128, metadata={"help": "embedding size E"})
        hidden: int = field(default=192, metadata={"help": "LSTM hidden size H"})
        attention: str = field(default="general", metadata={"help": "attention score: dot, general, additive"})
        steps: int = field(default=1600, metadata={"help": "training steps"})
        batch_size: int = field(default=64, metadata={"help": "pairs per step"})
        lr: float = field(default=0.003, metadata={"help": "Adam learning rate"})
        max_len: int = field(default=30, metadata={"help": "longest translation decoded (tokens)"})
        checkpoint_every: int = field(default=200, metadata={"help": "steps between checkpoints in --out"})
        samples: int = field(default=8, metadata={"help": "dev translations shown in the notes"})

    quick = {"train_pairs": 1000, "dev_pairs": 50, "min_freq": 2, "embed": 32, "hidden": 48, "steps": 40,
             "batch_size": 32, "lr": 0.005, "max_len": 20, "checkpoint_every": 10, "samples": 3}
    quick_criterion = ("a smoke test (1000 pairs, 40 steps, 50 dev sentences): the verdict applies the full rule "
                       "(BLEU 2 above retrieval and 10 above untrained), which so small a run is not expected to meet")
    data = ("small_parallel_enja",)

    def run(self, config, ctx):
        for key in ("train_pairs", "dev_pairs", "steps", "batch_size", "max_len", "checkpoint_every"):
            if getattr(config, key) < 1:
                raise ConfigError(f"translate-enja: {key} must be >= 1, got {getattr(config, key)}")
        with one_blas_thread():
            return self._run(config, ctx)

    def _run(self, config, ctx):
        en, ja = load_small_parallel_enja("train", root=ctx.data_dir)
        en, ja = en[: config.train_pairs], ja[: config.train_pairs]
        dev_en, dev_ja = (side[: config.dev_pairs] for side in load_small_parallel_enja("dev", root=ctx.data_dir))
        src_vocab = Vocabulary.build(en, min_freq=config.min_freq)
        tgt_vocab = Vocabulary.build(ja, min_freq=config.min_freq)
        train = encode_pairs(src_vocab, tgt_vocab, en, ja)
        dev = encode_pairs(src_vocab, tgt_vocab, dev_en, dev_ja)
        init_seq, batch_seq = ctx.spawn_seeds(2)

        model = Seq2Seq(len(src_vocab), len(tgt_vocab), config.embed, config.hidden, attention=config.attention,
                        bos_id=tgt_vocab.bos_id, eos_id=tgt_vocab.eos_id, pad_id=tgt_vocab.pad_id,
                        rng=np.random.default_rng(init_seq))
        untrained_bleu = corpus_bleu(self._translate(model, dev, tgt_vocab, config.max_len), dev_ja)
        opt = Adam(list(model.parameters()), lr=config.lr)
        batch_rng = np.random.default_rng(batch_seq)
        run_config = {**dataclasses.asdict(config), "seed": ctx.seed}
        start_step, losses = self._resume(ctx, run_config, model, opt, batch_rng)

        def checkpoint(step, opt):
            if ctx.out_dir is not None and (step % config.checkpoint_every == 0 or step == config.steps):
                save_checkpoint(ctx.out_dir / CHECKPOINT, Checkpoint(
                    model=model.state_dict(), step=step, optimizer=opt.state_dict(),
                    rngs={"batches": batch_rng.bit_generator.state}, config=run_config,
                    extra={"losses": np.asarray(losses, np.float64)}))

        if start_step < config.steps:
            train_seq2seq(model, train, config.steps, config.batch_size, config.lr, batch_rng, ctx, self.name,
                          on_step=checkpoint, start_step=start_step, opt=opt, losses=losses)

        hyps = self._translate(model, dev, tgt_vocab, config.max_len)
        bleu = corpus_bleu(hyps, dev_ja)
        retrieval_bleu = corpus_bleu(_retrieve(en, ja, dev_en), dev_ja)
        metrics = {"bleu": bleu, "retrieval_bleu": retrieval_bleu, "untrained_bleu": untrained_bleu,
                   "resumed_from_step": start_step, "final_loss": float(np.mean(losses[-50:])),
                   "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab)}
        rows = [{"system": "untrained attention seq2seq", "dev BLEU": untrained_bleu},
                {"system": "retrieval (most similar training sentence)", "dev BLEU": retrieval_bleu},
                {"system": f"attention seq2seq, {config.steps} steps", "dev BLEU": bleu}]
        notes = [f"vocabularies: en {len(src_vocab)}, ja {len(tgt_vocab)} tokens (min_freq {config.min_freq}); "
                 f"final training loss {metrics['final_loss']:.3f}"
                 + (f"; resumed from step {start_step}" if start_step else "")]
        for i in range(min(config.samples, len(dev_en))):
            notes += [f"en:  {' '.join(dev_en[i])}", f"ref: {' '.join(dev_ja[i])}", f"out: {' '.join(hyps[i])}"]
        self._plot_losses(ctx, losses)
        ok = bleu >= retrieval_bleu + 2 and bleu >= untrained_bleu + 10
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _resume(ctx, run_config, model, opt, batch_rng) -> tuple[int, list[float]]:
        """With ``--resume``, load ``<out>/checkpoint.npz`` if there is one: returns (steps done, their losses).

        Without it, a checkpoint left in ``<out>`` by an earlier run is removed: the run starts afresh.
        """
        path = ctx.out_dir / CHECKPOINT if ctx.out_dir is not None else None
        if path is None or not path.exists():
            return 0, []
        if not ctx.resume:
            path.unlink()
            return 0, []
        ck = load_checkpoint(path)
        # the learning rate is constant, so a longer budget continues a run exactly as an uninterrupted
        # longer run would: `steps` (and how often to checkpoint) may grow, nothing else may change
        extendable = {"steps", "checkpoint_every"}
        changed = sorted(k for k in (set(run_config) | set(ck.config)) - extendable
                         if run_config.get(k) != ck.config.get(k))
        if ck.step > run_config["steps"]:
            raise ConfigError(f"translate-enja: {path} has already taken {ck.step} steps, more than steps="
                              f"{run_config['steps']}; use another --out folder or a larger --set steps")
        if changed:
            raise ConfigError(f"translate-enja: {path} was written by a run with different settings "
                              f"({', '.join(changed)}); use another --out folder or delete the checkpoint")
        model.load_state_dict(ck.model)
        opt.load_state_dict(ck.optimizer)
        batch_rng.bit_generator.state = ck.rngs["batches"]
        ctx.log(f"translate-enja: resuming from {path} at step {ck.step}")
        return ck.step, [float(x) for x in ck.extra["losses"]]

    @staticmethod
    def _translate(model, dev, tgt_vocab, max_len, batch_size: int = 250) -> list[list[str]]:
        src, lengths, _ = dev
        out = []
        for i in range(0, len(src), batch_size):
            sl = slice(i, i + batch_size)
            out += model.greedy(src[sl, : int(lengths[sl].max())], lengths[sl], max_len=max_len)
        return [tgt_vocab.decode(o) for o in out]

    @staticmethod
    def _plot_losses(ctx, losses):
        fig, ax = ctx.figure(size=(6, 3.5))
        ax.plot(np.arange(1, len(losses) + 1), losses, linewidth=0.5, alpha=0.5, label="per step")
        if len(losses) >= 50:
            ax.plot(np.arange(50, len(losses) + 1), np.convolve(losses, np.ones(50) / 50, "valid"), label="mean of 50")
        plotting.style(ax, title="translate-enja training loss", xlabel="training step",
                       ylabel="cross-entropy per target token (nats)")
        ctx.savefig(fig, "training_loss")


def _retrieve(en, ja, queries) -> list[list[str]]:
    """For each query sentence, the Japanese of the training pair whose English is nearest by TF-IDF cosine."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens)  # the corpus's tokens, no re-tokenising
    train = vectorizer.fit_transform(en)  # (N_train, V), rows L2-normalised
    best = (vectorizer.transform(queries) @ train.T).toarray().argmax(axis=1)  # (N_dev,)
    return [ja[i] for i in best]
