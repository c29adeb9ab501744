"""word2vec: skip-gram and CBOW with negative sampling on PTB and on a Japanese novel, side by side with gensim."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import INCONCLUSIVE, Experiment, Outcome, verdict_from
from glassnet.text import Vocabulary
from glassnet.zoo.word2vec import Word2Vec, WordVectors, train_word2vec

TOPIC = "Word embeddings"

#: Fixed probe words; the similarity pairs are all pairs of those present in both models' vocabularies.
PROBES = {
    "ptb": ["million", "billion", "company", "companies", "stock", "stocks", "market", "bank", "president",
            "chairman", "executive", "officer", "year", "month", "week", "shares", "price", "prices", "rose",
            "fell", "sales", "profit", "japan", "government", "trading", "bonds", "investors", "new", "york",
            "computer", "oil", "he", "they", "said", "says", "big", "small"],
    "neko": ["吾輩", "猫", "人間", "主人", "細君", "迷亭", "寒月", "先生", "顔", "眼", "鼻", "手", "足", "頭", "家",
             "時", "日", "今", "云う", "思う", "見る", "来る", "ない", "ある", "金", "話", "君", "僕", "彼", "女"],
}


def _load(corpus: str, ctx, max_lines: int) -> list[list[str]]:
    from glassnet.data.datasets import load_neko, load_ptb

    if corpus == "ptb":
        sents = load_ptb("valid", root=ctx.data_dir) + load_ptb("test", root=ctx.data_dir)
        return sents[:max_lines] if max_lines else sents
    if corpus == "neko":
        from glassnet.text import JapaneseTokenizer

        lines = load_neko(root=ctx.data_dir)
        lines = lines[:max_lines] if max_lines else lines
        tok = JapaneseTokenizer()
        return [tok(line) for line in ctx.progress(lines, desc="janome")]
    raise ValueError(corpus)


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


class Word2VecExperiment(Experiment):
    name = "word2vec"
    topic = TOPIC
    claim = (
        "word2vec (skip-gram and CBOW with negative sampling) learns word vectors in which related words are "
        "near each other; our NumPy implementation learns the same geometry as the reference implementation "
        "(gensim) trained on the same corpus with the same settings."
    )
    criterion = (
        "for every corpus and mode, the Spearman correlation between our and gensim's cosine similarities on "
        "the fixed word pairs is at least 0.8 times that between two gensim runs with different seeds (the "
        "reference's own run-to-run agreement) and above 0.3; inconclusive if gensim is not installed"
    )

    @dataclass
    class Config:
        corpora: tuple = field(default=("ptb", "neko"), metadata={"help": "corpora: ptb (valid+test), neko"})
        modes: tuple = field(default=("skipgram", "cbow"), metadata={"help": "skipgram and/or cbow"})
        dim: int = field(default=100, metadata={"help": "embedding size E"})
        window: int = field(default=5, metadata={"help": "maximum context distance"})
        negative: int = field(default=5, metadata={"help": "negatives per positive k"})
        epochs: int = field(default=5, metadata={"help": "passes over the corpus"})
        min_count: int = field(default=5, metadata={"help": "minimum word count to be in the vocabulary"})
        sample: float = field(default=1e-3, metadata={"help": "subsampling threshold (0: off)"})
        batch_size: int = field(default=2048, metadata={"help": "examples per SGD step (ours)"})
        max_lines: int = field(default=0, metadata={"help": "use only the first lines of each corpus (0: all)"})

    quick = {"corpora": ("ptb",), "epochs": 2, "dim": 50, "max_lines": 3370}
    quick_criterion = ("the full rule on PTB only (first 3370 lines, E = 50, 2 epochs): Spearman(ours, gensim) >= "
                       "0.8 x Spearman(gensim, gensim') and > 0.3 for both modes")
    data = ("ptb", "neko")

    def run(self, config, ctx):
        try:
            from gensim.models import Word2Vec as GensimWord2Vec
        except ImportError:
            GensimWord2Vec = None
            ctx.log("gensim is not installed (pip install 'glassnet[test]'): no side-by-side, verdict inconclusive")
        rows, notes, metrics, ok_all = [], [], {}, True
        scatter = []  # (corpus, mode, our similarities, gensim's, rho) for the plot
        for corpus in config.corpora:
            sents = _load(corpus, ctx, config.max_lines)
            vocab = Vocabulary.build(sents, min_freq=config.min_count, specials=())
            ids = [vocab.encode([w for w in s if w in vocab]) for s in sents]
            n_words = sum(len(s) for s in ids)
            ctx.log(f"{corpus}: {len(sents)} sentences, {n_words} words, V = {len(vocab)}")
            probes = [w for w in PROBES[corpus] if w in vocab]
            for mode in config.modes:
                init_seq, train_seq, *gensim_seqs = ctx.spawn_seeds(4)
                # gensim takes an int seed: the first 32-bit word of each of its own child sequences
                gensim_seeds = [int(s.generate_state(1)[0]) for s in gensim_seqs]
                model = Word2Vec(len(vocab), config.dim, mode, rng=np.random.default_rng(init_seq))
                stats = train_word2vec(model, ids, vocab.counts, window=config.window, negative=config.negative,
                                       epochs=config.epochs, sample=config.sample, batch_size=config.batch_size,
                                       rng=np.random.default_rng(train_seq), progress=ctx.progress)
                ours = WordVectors(vocab, model.W_in.data)
                row = {"corpus": corpus, "mode": mode, "V": len(vocab), "words/s ours": round(stats.words_per_second)}
                neighbours = {w: [x for x, _ in ours.most_similar(w, 5)] for w in probes[:6]}
                notes += [f"{corpus} {mode} ours: {w} -> {', '.join(n)}" for w, n in neighbours.items()]
                if GensimWord2Vec is not None:
                    ref = [self._gensim(GensimWord2Vec, sents, config, mode, s) for s in gensim_seeds]
                    pairs = [(a, b) for a, b in itertools.combinations(probes, 2) if a in ref[0][0].wv
                             and b in ref[0][0].wv and a in ref[1][0].wv and b in ref[1][0].wv]
                    sim_ours = [ours.similarity(a, b) for a, b in pairs]
                    sim_ref = [[float(m.wv.similarity(a, b)) for a, b in pairs] for m, _ in ref]
                    rho = _spearman(sim_ours, sim_ref[0])
                    rho_ref = _spearman(sim_ref[0], sim_ref[1])
                    ok = rho >= 0.8 * rho_ref and rho > 0.3
                    ok_all &= ok
                    row.update({"pairs": len(pairs), "rho(ours, gensim)": rho, "rho(gensim, gensim')": rho_ref,
                                "words/s gensim": round(ref[0][1]), "ok": ok})
                    scatter.append((corpus, mode, sim_ours, sim_ref[0], rho))
                    metrics[f"{corpus}_{mode}_rho"] = rho
                    metrics[f"{corpus}_{mode}_rho_ref"] = rho_ref
                    g = ref[0][0].wv
                    notes += [f"{corpus} {mode} gensim: {w} -> {', '.join(x for x, _ in g.most_similar(w, topn=5))}"
                              for w in list(neighbours)[:3] if w in g]
                metrics[f"{corpus}_{mode}_words_per_s"] = stats.words_per_second
                rows.append(row)
                ctx.log(f"{corpus} {mode}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                          for k, v in row.items() if k not in ("corpus", "mode")))
        if GensimWord2Vec is None:
            notes.append("gensim is not installed: the side-by-side was skipped; install it with "
                         "pip install 'glassnet[test]' (gensim is a test and benchmark peer only)")
            return Outcome(INCONCLUSIVE, metrics, rows, notes)
        self._plot(ctx, scatter)
        return Outcome(verdict_from(ok_all), metrics, rows, notes)

    @staticmethod
    def _plot(ctx, scatter) -> None:
        """One panel per (corpus, mode): our cosine similarity of each probe pair against gensim's."""
        if not scatter:
            return
        fig, axes = ctx.figure(1, len(scatter), size=(3.8 * len(scatter), 3.8), squeeze=False,
                               title="word pairs: glassnet word2vec against gensim, same corpus and settings")
        for ax, (corpus, mode, ours, ref, rho) in zip(axes[0], scatter):
            ax.scatter(ref, ours, s=8, alpha=0.6)
            plotting.style(ax, title=f"{corpus} {mode}: Spearman {rho:.3f}", xlabel="gensim cosine similarity",
                           ylabel="glassnet cosine similarity")
        ctx.savefig(fig, "similarities_vs_gensim")

    @staticmethod
    def _gensim(cls, sents, config, mode, seed):
        start = time.perf_counter()
        model = cls(sents, vector_size=config.dim, window=config.window, negative=config.negative,
                    sg=int(mode == "skipgram"), min_count=config.min_count, sample=config.sample,
                    epochs=config.epochs, workers=1, seed=seed, alpha=0.025, min_alpha=0.0001)
        words = sum(len(s) for s in sents) * config.epochs
        return model, words / (time.perf_counter() - start)
