"""word2vec (Mikolov et al. 2013): skip-gram and CBOW with negative sampling, and queries on the vectors.

A word's one-hot vector times a V x E matrix is a row look-up: the model keeps an input embedding
``W_in`` (the word vectors) and an output embedding ``W_out``, and learns them by telling real
(centre, context) pairs from pairs with words drawn from the unigram^0.75 noise distribution:

* skip-gram: the centre word's vector ``h = W_in[w_t]`` predicts each context word ``w_{t+j}``;
* CBOW: the average of the context vectors ``h = mean_j W_in[w_{t+j}]`` predicts the centre word;

each with the loss :func:`glassnet.functional.negative_sampling_loss`. :class:`Word2Vec` is a
:class:`~glassnet.nn.Module` (its ``forward`` is the autograd path, trainable with any optimizer);
:func:`train_word2vec` is the fast trainer: plain SGD with a learning rate decaying linearly from
``alpha`` to ``min_alpha`` as in word2vec.c and gensim, on minibatches of pairs, updating only the
rows a batch touches, with the same gradient formulas as the fused function (a test shows the two
paths give the same update). :class:`WordVectors` answers nearest-neighbour and analogy queries by
cosine similarity.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import glassnet.functional as F
from glassnet import nn
from glassnet.backend import get_array_module
from glassnet.checks import check_size
from glassnet.errors import ConfigError, DataError, ShapeError
from glassnet.text import Vocabulary
from glassnet.text.sampling import UnigramSampler

__all__ = ["Word2Vec", "WordVectors", "Word2VecStats", "train_word2vec", "subsample", "skipgram_pairs",
           "cbow_windows"]

MODES = ("skipgram", "cbow")


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"word2vec: mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


class Word2Vec(nn.Module):
    """Skip-gram or CBOW with negative sampling: parameters ``W_in (V, E)`` (the word vectors) and ``W_out (V, E)``.

    Init as word2vec.c and gensim: ``W_in ~ U(-0.5/E, 0.5/E)``, ``W_out = 0``.

    Args:
        vocab_size: V. dim: E. mode: ``"skipgram"`` or ``"cbow"``. rng: Generator or seed.
    """

    def __init__(self, vocab_size: int, dim: int = 100, mode: str = "skipgram", rng=None):
        super().__init__()
        if vocab_size < 1 or dim < 1:
            raise ConfigError(f"Word2Vec: vocab_size and dim must be >= 1, got {vocab_size}, {dim}")
        self.mode = _check_mode(mode)
        self.W_in = nn.Parameter(nn.init.uniform((vocab_size, dim), -0.5 / dim, 0.5 / dim, rng))  # (V, E)
        self.W_out = nn.Parameter(nn.init.zeros((vocab_size, dim)))  # (V, E)

    def hidden(self, inputs, mask=None):
        """``h (N, E)``: skip-gram ``W_in[inputs]`` for ``inputs (N,)``; CBOW the mean of ``W_in[inputs]``
        over the ``mask``-ed context positions for ``inputs (N, C)``, ``mask (N, C)`` bool (None: all)."""
        if self.mode == "skipgram":
            return F.embedding(self.W_in, inputs)  # (N, E)
        ctx = F.embedding(self.W_in, inputs)  # (N, C, E)
        if mask is None:
            return F.mean(ctx, axis=1)
        xp = get_array_module(self.W_in)
        w = xp.asarray(mask, dtype=self.W_in.dtype)
        w = w / xp.maximum(w.sum(axis=1, keepdims=True), 1)  # (N, C): 1/count at valid positions
        return F.sum(ctx * w[:, :, None], axis=1)  # (N, E)

    def forward(self, inputs, targets, negatives, mask=None, reduction: str = "mean"):
        """Negative-sampling loss of the batch (see :func:`glassnet.functional.negative_sampling_loss`)."""
        return F.negative_sampling_loss(self.hidden(inputs, mask), self.W_out, targets, negatives, reduction)


# ------------------------------------------------------------------------------------------ training data
def subsample(ids: np.ndarray, counts: np.ndarray, sample: float, rng: np.random.Generator) -> np.ndarray:
    """Keep-mask of frequent-word subsampling: word ``w`` (frequency ``f_w = c_w / total``) is kept with
    probability ``min(1, (√(f_w / s) + 1) · s / f_w)`` (word2vec.c and gensim's formula for threshold ``s``);
    ``sample = 0`` keeps everything. Returns a bool array like ``ids``."""
    if sample <= 0:
        return np.ones(ids.shape, bool)
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        keep = np.where(f > 0, (np.sqrt(f / sample) + 1) * sample / np.maximum(f, 1e-300), 1.0)
    return rng.random(ids.shape) < keep[ids]


def _window_offsets(window: int):
    return [o for o in range(-window, window + 1) if o != 0]


def skipgram_pairs(ids: np.ndarray, sentence: np.ndarray, window: int, rng: np.random.Generator):
    """All (centre, context) pairs of a token stream: ``ids (L,)`` word ids, ``sentence (L,)`` sentence numbers.

    Each centre draws an effective window ``b ~ U{1..window}`` (word2vec.c's "reduced window", weighting near
    words more); pairs never cross a sentence. Returns ``(centres (P,), contexts (P,))`` int64.
    """
    L = len(ids)
    b = rng.integers(1, window + 1, L)
    centres, contexts = [], []
    pos = np.arange(L)
    for o in _window_offsets(window):
        i = pos[max(0, -o): L - max(0, o)]
        ok = (sentence[i + o] == sentence[i]) & (abs(o) <= b[i])
        centres.append(ids[i[ok]])
        contexts.append(ids[i[ok] + o])
    return np.concatenate(centres), np.concatenate(contexts)


def cbow_windows(ids: np.ndarray, sentence: np.ndarray, window: int, rng: np.random.Generator):
    """CBOW examples: ``(contexts (L', 2·window), mask (L', 2·window), centres (L',))`` for every centre with at
    least one context word (reduced windows, no crossing of sentences, as :func:`skipgram_pairs`)."""
    L = len(ids)
    b = rng.integers(1, window + 1, L)
    offs = _window_offsets(window)
    ctx = np.zeros((L, len(offs)), np.int64)
    mask = np.zeros((L, len(offs)), bool)
    for j, o in enumerate(offs):
        i = np.arange(max(0, -o), L - max(0, o))
        ok = (sentence[i + o] == sentence[i]) & (abs(o) <= b[i])
        ctx[i[ok], j] = ids[i[ok] + o]
        mask[i[ok], j] = True
    has = mask.any(axis=1)
    return ctx[has], mask[has], ids[has]


# -------------------------------------------------------------------------------------------- fast trainer
def _group(flat: np.ndarray, V: int):
    """Group equal ids of ``flat (M,)``: ``(order, indptr, ids, first)`` with ``flat[order]`` sorted, ``ids (U,)``
    the distinct ids, entries ``order[indptr[u]:indptr[u + 1]]`` equal to ``ids[u]`` and ``first (M,)`` bool marking
    the first entry of each group in sorted order."""
    # a stable argsort of 16-bit keys is a radix sort in NumPy: ~10x faster than sorting int64 ids
    order = np.argsort(flat.astype(np.uint16) if V <= 1 << 16 else flat, kind="stable")
    ids = flat[order]
    first = np.empty(len(ids), bool)
    first[0] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return order, np.append(starts, len(ids)), ids[starts], first


def _buffer(workspace: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """A scratch array of ``shape``: a view of ``workspace[name]`` (grown when too small), or a fresh one when
    ``workspace`` is None. Reusing the multi-MB arrays of a step saves the page faults of fresh allocations
    (measured: a quarter of the skip-gram step on PTB)."""
    n = int(np.prod(shape))
    if workspace is None:
        return np.empty(shape, dtype)
    buf = workspace.get(name)
    if buf is None or buf.size < n or buf.dtype != dtype:
        buf = workspace[name] = np.empty(n, dtype)
    return buf[:n].reshape(shape)


def _scatter_add(W: np.ndarray, idx: np.ndarray, coef, X: np.ndarray, scale: float, group=None, W_rows=None,
                 workspace: dict | None = None, name: str = "") -> None:
    """``W[idx[m]] += scale · coef[m] · X[col[m]]`` for every entry m of ``idx (N, J)`` (row m // J of ``X``).

    Repeated ids add up and only the rows used are touched: the sums are one sparse ``(U, N) @ (N, E)``
    product (U distinct ids), far faster than ``np.add.at`` on rows and without forming ``(N·J, E)``.
    ``coef`` None means all ones; ``group`` is :func:`_group` of ``idx.ravel()`` and ``W_rows`` ``W[ids]`` when the
    caller has them already (each saves a pass); ``workspace``/``name``: scratch arrays (see :func:`_buffer`).
    """
    import scipy.sparse as sp

    N, J = idx.shape
    order, indptr, ids, _ = group if group is not None else _group(idx.ravel(), W.shape[0])
    data = np.ones(len(order), W.dtype) if coef is None else coef.ravel()[order]
    S = sp.csr_matrix((data, order // J, indptr), shape=(len(ids), N))
    if W_rows is None:  # np.take gathers rows ~3x faster than W[ids]; the caller checked the ids (mode="clip")
        W_rows = np.take(W, ids, axis=0, mode="clip", out=_buffer(workspace, name, (len(ids), W.shape[1]), W.dtype))
    step = S @ X  # (U, E)
    step *= scale
    W_rows += step
    W[ids] = W_rows


def _scores_loss_grad(s: np.ndarray):
    """From scores ``s (N, 1+k)`` (the target first): the summed loss ``Σ softplus(-s_n0) + Σ softplus(s_nj)`` and
    ``δ = σ(s) - y``, sharing one ``z = e^{-|s|}``: ``softplus(±s) = max(±s, 0) + log(1 + z)``, ``σ(s) = 1/(1 + z)``
    for ``s >= 0`` and ``z/(1 + z)`` below (no overflow; ``log(1 + z)`` with ``1 + z`` in [1, 2] is accurate to an
    ulp absolutely, and float32 ``log`` is far faster than ``logaddexp``/``log1p``)."""
    z = np.abs(s)
    np.negative(z, out=z)
    np.exp(z, out=z)  # z = e^{-|s|}
    one_z = z + 1
    pos = s >= 0
    loss = float(np.log(one_z).sum(dtype=np.float64) + np.maximum(-s[:, 0], 0).sum(dtype=np.float64)
                 + np.maximum(s[:, 1:], 0).sum(dtype=np.float64))
    ds = np.where(pos, 1, z)
    ds /= one_z  # σ(s)
    ds[:, 0] -= 1
    return loss, ds


_CHUNK = 512  # examples per pass over gathered output rows: (512, 6, 100) float32 is 1.2 MB (256..1024 alike)


def sgd_step(model: Word2Vec, inputs, targets, negatives, lr: float, mask=None, cbow_update: str = "word2vec",
             workspace: dict | None = None) -> float:
    """One plain-SGD step on the summed negative-sampling loss of a batch, updating only touched rows.

    The same gradients as ``model(inputs, targets, negatives, mask, reduction="sum").backward()`` (a test
    checks): ``δ = σ(s) - y``, ``grad_h = δ · rows``, ``grad_rows = δ ⊗ h``. For CBOW, ``cbow_update="exact"``
    gives each context word the true gradient of the mean, ``grad_h / count``; ``"word2vec"`` (default) adds
    the undivided ``grad_h`` to every context word, as word2vec.c and gensim (``cbow_mean=1``) do: a larger
    effective learning rate for the input vectors, and the update the reference implementations define
    (measured on PTB: Spearman agreement with gensim 0.96 with it, 0.69 with the exact gradient).
    ``workspace``: an empty dict to pass to every step of a run, for reusing the step's large scratch arrays
    (:func:`train_word2vec` does); None allocates fresh ones. Returns the batch's summed loss.

    Raises:
        ShapeError: for an id outside ``[0, V)`` in ``inputs``, ``targets`` or ``negatives``.
    """
    W_in, W_out = model.W_in.data, model.W_out.data
    (V, E), dt = W_in.shape, W_in.dtype
    for name, a in (("inputs", inputs), ("targets", targets), ("negatives", negatives)):
        # the gathers below skip NumPy's bounds check (mode="clip": no buffered copy of their out=)
        if a.size and (a.min() < 0 or a.max() >= V):
            raise ShapeError(f"sgd_step: {name} must hold ids in [0, {V}), got ids {a.min()}..{a.max()}")
    if model.mode == "skipgram":
        h = np.take(W_in, inputs, axis=0, mode="clip", out=_buffer(workspace, "h", (len(inputs), E), dt))  # (N, E)
    else:
        w = (mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)).astype(W_in.dtype)  # (N, C)
        h = np.einsum("nc,nce->ne", w, np.take(W_in, inputs, axis=0))  # (N, E)
    idx = np.concatenate([targets[:, None], negatives], axis=1)  # (N, 1+k)
    # the distinct output rows once: gathered for the scores from a small (U, E) block and written back by
    # _scatter_add without a second gather
    group = _group(idx.ravel(), W_out.shape[0])
    order, _, ids, first = group
    inverse = np.empty(idx.size, np.intp)
    inverse[order] = np.cumsum(first) - 1  # idx.ravel()[m] == ids[inverse[m]]
    W_rows = np.take(W_out, ids, axis=0, mode="clip", out=_buffer(workspace, "W_out_rows", (len(ids), E), dt))
    # the (N, 1+k, E) output rows in chunks of _CHUNK examples, each used while in cache: the scores s_nj = h_n · w_j,
    # the loss and δ, grad_h_n = Σ_j δ_nj w_j (batched GEMVs: faster than einsum); all from the weights before the step
    inverse = inverse.reshape(idx.shape)
    N = len(idx)
    ds = np.empty(idx.shape, dt)  # (N, 1+k)
    grad_h = _buffer(workspace, "grad_h", (N, 1, E), dt)
    loss = 0.0
    for c in range(0, N, _CHUNK):
        sl = slice(c, c + _CHUNK)
        part = inverse[sl]
        rows = np.take(W_rows, part, axis=0, mode="clip", out=_buffer(workspace, "rows", part.shape + (E,), dt))
        part_loss, ds[sl] = _scores_loss_grad(np.matmul(rows, h[sl, :, None])[:, :, 0])
        loss += part_loss
        np.matmul(ds[sl, None, :], rows, out=grad_h[sl])
    grad_h = grad_h[:, 0]  # (N, E)
    # grad_W_out[v] = Σ δ_nj h_n over the entries with id v
    _scatter_add(W_out, idx, ds, h, -lr, group, W_rows)
    if model.mode == "skipgram":
        _scatter_add(W_in, inputs[:, None], None, grad_h, -lr, workspace=workspace, name="W_in_rows")
    else:  # every context word gets grad_h / count (exact) or grad_h (word2vec.c); masked positions 0
        _scatter_add(W_in, inputs, w if cbow_update == "exact" else mask.astype(W_in.dtype), grad_h, -lr,
                     workspace=workspace, name="W_in_rows")
    return loss


@dataclass
class Word2VecStats:
    """What :func:`train_word2vec` measured: words processed (raw corpus words x epochs), seconds, words/s,
    examples (pairs for skip-gram, windows for CBOW) and the mean loss per example of each epoch."""

    words: int
    seconds: float
    words_per_second: float
    examples: int
    losses: list


def train_word2vec(
    model: Word2Vec,
    sentences: Sequence[np.ndarray],
    counts: np.ndarray,
    *,
    window: int = 5,
    negative: int = 5,
    epochs: int = 5,
    alpha: float = 0.025,
    min_alpha: float = 0.0001,
    sample: float = 1e-3,
    batch_size: int = 1024,
    cbow_update: str = "word2vec",
    rng=None,
    progress: Callable | None = None,
) -> Word2VecStats:
    """Train ``model`` in place with SGD on minibatches, as word2vec.c/gensim train (same defaults).

    Args:
        model: a :class:`Word2Vec`.
        sentences: id arrays (ids in ``[0, V)``; drop out-of-vocabulary words first).
        counts: ``(V,)`` corpus counts: the noise distribution (``counts^0.75``) and subsampling.
        window: maximum context distance (each centre draws its own ``1..window``).
        negative: k, negatives per positive.
        epochs: passes over the corpus.
        alpha, min_alpha: learning rate, decayed linearly over all batches of all epochs.
        sample: subsampling threshold (0: off), gensim's ``sample``.
        batch_size: examples per SGD step. Larger is faster; the pairs are shuffled within an epoch.
        cbow_update: ``"word2vec"`` (undivided context update, as word2vec.c/gensim) or ``"exact"``
            (the gradient of the mean); see :func:`sgd_step`.
        rng: Generator or seed (windows, subsampling, negatives, shuffling).
        progress: optional ``progress(iterable, total=, desc=)`` wrapper (e.g. a tqdm bar).

    Returns:
        :class:`Word2VecStats`.

    Raises:
        ConfigError: for non-positive sizes.
        ShapeError: if ``counts`` is not ``(V,)`` or a sentence holds an id outside ``[0, V)``.
        DataError: for an empty corpus.
    """
    if cbow_update not in ("word2vec", "exact"):
        raise ConfigError(f"train_word2vec: cbow_update must be 'word2vec' or 'exact', got {cbow_update!r}")
    for name, v in (("window", window), ("negative", negative), ("epochs", epochs), ("batch_size", batch_size)):
        check_size(v, name, "train_word2vec")
    V = model.W_in.shape[0]
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (V,):
        raise ShapeError(f"train_word2vec: counts must be (V,) with V == {V}, got {counts.shape}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    sampler = UnigramSampler(counts, rng=rng)
    arrays = [np.asarray(s) for s in sentences]
    for i, a in enumerate(arrays):  # a negative id would wrap around to the last rows, silently
        if a.ndim != 1 or (a.size and (a.dtype.kind not in "iu" or a.min() < 0 or a.max() >= V)):
            raise ShapeError(f"train_word2vec: sentences[{i}] must be a 1-D integer id array with ids in [0, {V}), "
                             f"got {a.dtype} {a.shape}" + (f" ids {a.min()}..{a.max()}" if a.size and a.ndim else ""))
    ids = np.concatenate([a.astype(np.int64) for a in arrays]) if arrays else np.zeros(0, np.int64)
    if ids.size == 0:
        raise DataError("train_word2vec: the corpus is empty (no word ids to train on)")
    sent = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    total_words = len(ids) * epochs
    wrap = progress or (lambda it, total=None, desc="": it)
    losses, examples, step, start = [], 0, 0, time.perf_counter()
    steps_total = None
    workspace = {}  # the steps' scratch arrays, reused
    for epoch in range(epochs):
        keep = subsample(ids, counts, sample, rng)
        if model.mode == "skipgram":
            inputs, targets = skipgram_pairs(ids[keep], sent[keep], window, rng)
            mask = None
        else:
            inputs, mask, targets = cbow_windows(ids[keep], sent[keep], window, rng)
        order = rng.permutation(len(targets))
        n_batches = -(-len(order) // batch_size)
        steps_total = steps_total or max(n_batches * epochs, 1)
        total_loss = 0.0
        for b in wrap(range(n_batches), total=n_batches, desc=f"{model.mode} epoch {epoch + 1}/{epochs}"):
            sel = order[b * batch_size:(b + 1) * batch_size]
            # steps_total is estimated from epoch 1 (subsampling changes later epochs' counts): never decay past
            # min_alpha
            lr = max(alpha - (alpha - min_alpha) * step / steps_total, min_alpha)
            neg = sampler.sample((len(sel), negative))
            total_loss += sgd_step(model, inputs[sel], targets[sel], neg, lr, None if mask is None else mask[sel],
                                   cbow_update, workspace)
            step += 1
        losses.append(total_loss / max(len(order), 1))
        examples += len(order)
    seconds = time.perf_counter() - start
    return Word2VecStats(total_words, seconds, total_words / max(seconds, 1e-9), examples, losses)


# ----------------------------------------------------------------------------------------------- queries
class WordVectors:
    """Word vectors with a vocabulary: cosine similarity, nearest neighbours, analogies.

    Args:
        vocab: the :class:`~glassnet.text.Vocabulary` (id -> word).
        vectors: ``(V, E)`` array (e.g. ``model.W_in.data``).

    Raises:
        ShapeError: if ``vectors`` has not one row per vocabulary entry.
        ConfigError: (queries) for a word not in the vocabulary or ``topn < 1``.
    """

    def __init__(self, vocab: Vocabulary, vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
            raise ShapeError(f"WordVectors: vectors must be (V, E) with V == {len(vocab)}, got {vectors.shape}")
        self.vocab = vocab
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.unit = vectors / np.where(norms > 0, norms, 1)  # (V, E), rows of length 1 (or 0)

    def _id(self, word: str) -> int:
        if word not in self.vocab:
            raise ConfigError(f"WordVectors: {word!r} is not in the vocabulary")
        return self.vocab.stoi[word]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity ``a·b / (|a| |b|)``."""
        return float(self.unit[self._id(a)] @ self.unit[self._id(b)])

    def _top(self, query: np.ndarray, exclude: set[int], topn: int) -> list[tuple[str, float]]:
        topn = check_size(topn, "topn", "WordVectors")
        sims = self.unit @ (query / max(np.linalg.norm(query), 1e-300))  # (V,)
        sims[list(exclude)] = -np.inf
        best = np.argsort(-sims, kind="stable")[:topn]
        # the excluded query words never come back, even when fewer than topn other words exist
        return [(self.vocab.itos[i], float(sims[i])) for i in best if i not in exclude]

    def most_similar(self, word: str, topn: int = 5) -> list[tuple[str, float]]:
        """The ``topn`` nearest words to ``word`` by cosine similarity (itself excluded)."""
        i = self._id(word)
        return self._top(self.unit[i], {i}, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?": the words nearest ``b - a + c`` (unit vectors; 3CosAdd,
        Mikolov et al. 2013), the three query words excluded. ``analogy("man", "king", "woman")`` -> queen."""
        ia, ib, ic = self._id(a), self._id(b), self._id(c)
        return self._top(self.unit[ib] - self.unit[ia] + self.unit[ic], {ia, ib, ic}, topn)
