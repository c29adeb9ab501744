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
from glassnet.train.trainer import model_generators
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
        "corpus BLEU (sacrebleu, the corpus's own tokens) of the model's translations of the 500 dev sentences "
        "(greedy, or beam search with the configured beam and length penalty) is at least 2 points above the "
        "retrieval baseline's and at least 10 points above the untrained model's"
    )

    @dataclass
    class Config:
        train_pairs: int = field(default=50000, metadata={"help": "training pairs used (the first ones)"})
        dev_pairs: int = field(default=500, metadata={"help": "dev pairs scored"})
        min_freq: int = field(default=3, metadata={"help": "rarer tokens become <unk>"})
        embed: int = field(default=128, metadata={"help": "embedding size E"})
        hidden: int = field(default=192, metadata={"help": "LSTM hidden size H"})
        attention: str = field(default="general", metadata={"help": "attention score: dot, general, additive"})
        steps: int = field(default=6400, metadata={"help": "training steps"})
        batch_size: int = field(default=64, metadata={"help": "pairs per step"})
        lr: float = field(default=0.003, metadata={"help": "Adam learning rate"})
        lr_decay: float = field(default=1.0, metadata={
            "help": "multiply the learning rate by this right after decay_start, then every decay_every steps "
                    "(1: constant; with decay_start 0 the first step already runs at lr * lr_decay)"})
        decay_start: int = field(default=0, metadata={"help": "step after which the learning rate decays"})
        decay_every: int = field(default=800, metadata={"help": "steps between learning-rate decays"})
        dropout: float = field(default=0.0, metadata={"help": "dropout on embeddings and the output layer's input"})
        label_smoothing: float = field(default=0.1, metadata={"help": "label smoothing epsilon of the loss"})
        beam: int = field(default=5, metadata={"help": "beam size of the final translations (1: greedy)"})
        length_penalty: float = field(default=1.0, metadata={"help": "beam search ranks log p / len^this"})
        max_len: int = field(default=30, metadata={"help": "longest translation decoded (tokens)"})
        checkpoint_every: int = field(default=200, metadata={"help": "steps between checkpoints in --out"})
        eval_every: int = field(default=800, metadata={
            "help": "steps between greedy dev-BLEU evaluations for the learning curve (0: only at the end)"})
        samples: int = field(default=8, metadata={"help": "dev translations shown in the notes"})

    quick = {"train_pairs": 1000, "dev_pairs": 50, "min_freq": 2, "embed": 32, "hidden": 48, "steps": 40,
             "batch_size": 32, "lr": 0.005, "max_len": 20, "checkpoint_every": 10, "eval_every": 20, "samples": 3}
    quick_criterion = ("a smoke test (1000 pairs, 40 steps, 50 dev sentences): the verdict applies the full rule "
                       "(BLEU 2 above retrieval and 10 above untrained), which so small a run is not expected to meet")
    data = ("small_parallel_enja",)

    def run(self, config, ctx):
        for key in ("train_pairs", "dev_pairs", "steps", "batch_size", "max_len", "checkpoint_every", "beam",
                    "decay_every"):
            if getattr(config, key) < 1:
                raise ConfigError(f"translate-enja: {key} must be >= 1, got {getattr(config, key)}")
        for key in ("eval_every", "decay_start"):
            if getattr(config, key) < 0:
                raise ConfigError(f"translate-enja: {key} must be >= 0, got {getattr(config, key)}")
        if not 0 < config.lr_decay <= 1:
            raise ConfigError(f"translate-enja: lr_decay must be in (0, 1], got {config.lr_decay}")
        if not 0 <= config.dropout < 1:
            raise ConfigError(f"translate-enja: dropout must be in [0, 1), got {config.dropout}")
        if not 0 <= config.label_smoothing <= 1:
            raise ConfigError(f"translate-enja: label_smoothing must be in [0, 1], got {config.label_smoothing}")
        if not np.isfinite(config.length_penalty):
            raise ConfigError(f"translate-enja: length_penalty must be a finite number, got {config.length_penalty}")
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
                        rng=np.random.default_rng(init_seq), dropout=config.dropout)
        untrained_bleu = corpus_bleu(self._translate(model, dev, tgt_vocab, config.max_len), dev_ja)
        opt = Adam(list(model.parameters()), lr=config.lr)
        batch_rng = np.random.default_rng(batch_seq)
        generators = {"batches": batch_rng, **{f"model.{k}": g for k, g in model_generators(model).items()}}
        run_config = {**dataclasses.asdict(config), "seed": ctx.seed}
        start_step, losses, curve = self._resume(ctx, run_config, model, opt, generators)

        def lr_at(step):
            # the first decay at step decay_start + 1, then one every decay_every steps (Luong et al. 2015, §4.1)
            decays = (step - 1 - config.decay_start) // config.decay_every + 1 if step > config.decay_start else 0
            return config.lr * config.lr_decay ** decays

        final_greedy: list[list[str]] = []  # the last step's greedy translations, when on_step made them

        def on_step(step, opt):
            # the last step too, so that the checkpoint (and a run extended from it) keeps that point
            if config.eval_every and (step % config.eval_every == 0 or step == config.steps):
                hyps = self._translate(model, dev, tgt_vocab, config.max_len)
                curve[step] = corpus_bleu(hyps, dev_ja)
                if step == config.steps:
                    final_greedy[:] = hyps
                ctx.log(f"translate-enja: step {step}: dev BLEU (greedy) {curve[step]:.2f}")
            if ctx.out_dir is not None and (step % config.checkpoint_every == 0 or step == config.steps):
                save_checkpoint(ctx.out_dir / CHECKPOINT, Checkpoint(
                    model=model.state_dict(), step=step, optimizer=opt.state_dict(),
                    rngs={k: g.bit_generator.state for k, g in generators.items()}, config=run_config,
                    extra={"losses": np.asarray(losses, np.float64),
                           "curve": np.asarray(sorted(curve.items()), np.float64).reshape(-1, 2)}))

        if start_step < config.steps:
            train_seq2seq(model, train, config.steps, config.batch_size, config.lr, batch_rng, ctx, self.name,
                          on_step=on_step, start_step=start_step, opt=opt, losses=losses,
                          label_smoothing=config.label_smoothing, lr_at=lr_at)

        greedy_hyps = final_greedy or self._translate(model, dev, tgt_vocab, config.max_len)  # decoded once
        curve[config.steps] = greedy_bleu = corpus_bleu(greedy_hyps, dev_ja)
        hyps = greedy_hyps if config.beam == 1 else self._translate(
            model, dev, tgt_vocab, config.max_len, beam=config.beam, length_penalty=config.length_penalty)
        bleu = greedy_bleu if config.beam == 1 else corpus_bleu(hyps, dev_ja)
        retrieval_bleu = corpus_bleu(_retrieve(en, ja, dev_en), dev_ja)
        metrics = {"bleu": bleu, "greedy_bleu": greedy_bleu, "retrieval_bleu": retrieval_bleu,
                   "untrained_bleu": untrained_bleu, "bleu_curve": {str(k): v for k, v in sorted(curve.items())},
                   "resumed_from_step": start_step, "final_loss": float(np.mean(losses[-50:])),
                   "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab)}
        decoder = "greedy" if config.beam == 1 else f"beam {config.beam}, length penalty {config.length_penalty:g}"
        rows = [{"system": "untrained attention seq2seq", "dev BLEU": untrained_bleu},
                {"system": "retrieval (most similar training sentence)", "dev BLEU": retrieval_bleu},
                {"system": f"attention seq2seq, {config.steps} steps, {decoder}", "dev BLEU": bleu}]
        notes = [f"vocabularies: en {len(src_vocab)}, ja {len(tgt_vocab)} tokens (min_freq {config.min_freq}); "
                 f"final training loss {metrics['final_loss']:.3f}"
                 + (f"; resumed from step {start_step}" if start_step else "")]
        if len(curve) > 1:
            notes.append("dev BLEU (greedy) by step: " + ", ".join(f"{k}: {v:.2f}" for k, v in sorted(curve.items())))
        for i in range(min(config.samples, len(dev_en))):
            notes += [f"en:  {' '.join(dev_en[i])}", f"ref: {' '.join(dev_ja[i])}", f"out: {' '.join(hyps[i])}"]
        self._plot_losses(ctx, losses, curve, retrieval_bleu)
        ok = bleu >= retrieval_bleu + 2 and bleu >= untrained_bleu + 10
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _resume(ctx, run_config, model, opt, generators) -> tuple[int, list[float], dict[int, float]]:
        """With ``--resume``, load ``<out>/checkpoint.npz`` if there is one: returns (steps done, their losses,
        the dev-BLEU curve so far).

        Without it, a checkpoint left in ``<out>`` by an earlier run is removed: the run starts afresh.
        """
        path = ctx.out_dir / CHECKPOINT if ctx.out_dir is not None else None
        if path is None or not path.exists():
            return 0, [], {}
        if not ctx.resume:
            path.unlink()
            return 0, [], {}
        ck = load_checkpoint(path)
        # the learning rate is a function of the step alone, so a longer budget continues a run exactly as an
        # uninterrupted longer run would: `steps` may grow and what is only read after training (decoding,
        # evaluation, checkpoint frequency) may change; nothing else may
        extendable = {"steps", "checkpoint_every", "eval_every", "beam", "length_penalty", "samples"}
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
        for name, g in generators.items():
            g.bit_generator.state = ck.rngs[name]
        ctx.log(f"translate-enja: resuming from {path} at step {ck.step}")
        curve = {int(s): float(b) for s, b in ck.extra.get("curve", np.zeros((0, 2)))}
        return ck.step, [float(x) for x in ck.extra["losses"]], curve

    @staticmethod
    def _translate(model, dev, tgt_vocab, max_len, batch_size: int = 250, beam: int = 1,
                   length_penalty: float = 0.0) -> list[list[str]]:
        src, lengths, _ = dev
        out = []
        for i in range(0, len(src), batch_size):
            sl = slice(i, i + batch_size)
            chunk, chunk_lengths = src[sl, : int(lengths[sl].max())], lengths[sl]
            out += (model.greedy(chunk, chunk_lengths, max_len=max_len) if beam == 1 else
                    model.beam_search(chunk, chunk_lengths, beam=beam, max_len=max_len, length_penalty=length_penalty))
        return [tgt_vocab.decode(o) for o in out]

    @staticmethod
    def _plot_losses(ctx, losses, curve, retrieval_bleu):
        fig, axes = ctx.figure(ncols=2, size=(11, 3.5))
        ax = axes[0]
        ax.plot(np.arange(1, len(losses) + 1), losses, linewidth=0.5, alpha=0.5, label="per step")
        if len(losses) >= 50:
            ax.plot(np.arange(50, len(losses) + 1), np.convolve(losses, np.ones(50) / 50, "valid"), label="mean of 50")
        plotting.style(ax, title="translate-enja training loss", xlabel="training step",
                       ylabel="training loss per target token (nats)")
        ax = axes[1]
        steps = sorted(curve)
        ax.plot(steps, [curve[s] for s in steps], marker="o", label="attention seq2seq (greedy)")
        ax.axhline(retrieval_bleu, color="gray", linestyle="--", label="retrieval baseline")
        plotting.style(ax, title="dev BLEU", xlabel="training step", ylabel="BLEU")
        ctx.savefig(fig, "training_loss")


def _retrieve(en, ja, queries) -> list[list[str]]:
    """For each query sentence, the Japanese of the training pair whose English is nearest by TF-IDF cosine."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens)  # the corpus's tokens, no re-tokenising
    train = vectorizer.fit_transform(en)  # (N_train, V), rows L2-normalised
    best = (vectorizer.transform(queries) @ train.T).toarray().argmax(axis=1)  # (N_dev,)
    return [ja[i] for i in best]
