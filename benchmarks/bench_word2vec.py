"""word2vec training speed: glassnet's NumPy trainer against gensim (C, Cython), same corpus and settings.

Corpus: PTB valid + test (149k words; ``--data-dir``, default /work/shared/data). Settings shared by both:
E = 100, window 5, 5 negatives, min_count 5, sample 1e-3, alpha 0.025 -> 0.0001, ``--epochs`` epochs.
gensim runs with 1 and with 2 worker threads; glassnet in one process (NumPy's BLAS threads limited to 1,
``--threads``). Words per second = raw corpus words x epochs / training seconds (gensim: model build and
training, vocabulary scan included; glassnet: training only, a vocabulary build is ~0.1 s here).
Each measurement is the best of ``--repeats`` runs, alternating the implementations, since other processes
on a shared machine only ever add time. The goal: skip-gram at >= 1/3 of gensim's single-thread words/s.

Usage::

    python benchmarks/bench_word2vec.py [--epochs 3] [--repeats 2] [--batch-size 2048]
"""

from __future__ import annotations

import argparse
import time

from threadpoolctl import threadpool_limits

from glassnet.data.datasets import load_ptb
from glassnet.text import Vocabulary
from glassnet.zoo.word2vec import Word2Vec, train_word2vec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/work/shared/data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from gensim.models import Word2Vec as GensimWord2Vec

    sents = load_ptb("valid", root=args.data_dir, download=False) + load_ptb("test", root=args.data_dir,
                                                                               download=False)
    n_words = sum(map(len, sents))
    settings = dict(window=5, negative=5, sample=1e-3, epochs=args.epochs)
    print(f"PTB valid+test: {len(sents)} sentences, {n_words} words; E=100, {settings}")

    def ours(mode: str) -> float:
        with threadpool_limits(args.threads):
            vocab = Vocabulary.build(sents, min_freq=5, specials=())
            ids = [vocab.encode([w for w in s if w in vocab]) for s in sents]
            model = Word2Vec(len(vocab), 100, mode, rng=0)
            start = time.perf_counter()
            train_word2vec(model, ids, vocab.counts, batch_size=args.batch_size, rng=1, **settings)
            return n_words * args.epochs / (time.perf_counter() - start)

    def gensim(mode: str, workers: int) -> float:
        start = time.perf_counter()
        GensimWord2Vec(sents, vector_size=100, min_count=5, sg=int(mode == "skipgram"), workers=workers, seed=0,
                       alpha=0.025, min_alpha=0.0001, **settings)
        return n_words * args.epochs / (time.perf_counter() - start)

    print(f"{'mode':9s} {'glassnet w/s':>13s} {'gensim 1w':>10s} {'gensim 2w':>10s} {'vs 1w':>6s} {'vs 2w':>6s}")
    for mode in ("skipgram", "cbow"):
        best = {"ours": 0.0, "g1": 0.0, "g2": 0.0}
        for _ in range(args.repeats):
            best["ours"] = max(best["ours"], ours(mode))
            best["g1"] = max(best["g1"], gensim(mode, 1))
            best["g2"] = max(best["g2"], gensim(mode, 2))
        r1, r2 = best["ours"] / best["g1"], best["ours"] / best["g2"]
        print(f"{mode:9s} {best['ours']:13.0f} {best['g1']:10.0f} {best['g2']:10.0f} {r1:6.2f} {r2:6.2f}")
        if mode == "skipgram":
            print(f"  goal skip-gram >= 1/3 of gensim single-thread: {'met' if r1 >= 1 / 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
