"""What the seq2seq experiments share: encoding text pairs as padded id arrays, training, exact-match scoring.

Private to the lab (the registry skips modules whose name starts with ``_``).
"""

from __future__ import annotations

import numpy as np

from glassnet.optim import Adam
from glassnet.text import Vocabulary, pad_sequences
from glassnet.train.step import train_step

TOPIC = "Seq2seq and attention"


def encode_pairs(src_vocab: Vocabulary, tgt_vocab: Vocabulary, sources, targets):
    """Token sequences -> ``(src (N, S), src_lengths (N,), tgt (N, T+2))``: targets wrapped in <bos> .. <eos>."""
    src, lengths = pad_sequences([src_vocab.encode(s) for s in sources], src_vocab.pad_id)
    tgt, _ = pad_sequences([tgt_vocab.encode(t, bos=True, eos=True) for t in targets], tgt_vocab.pad_id)
    return src, np.maximum(lengths, 1), tgt


def batch_of(arrays, idx):
    """Rows ``idx`` of ``(src, lengths, tgt)``, padding trimmed to the longest row of the batch."""
    src, lengths, tgt = (a[idx] for a in arrays)
    S = int(lengths.max())
    T = int((tgt != 0).sum(axis=1).max())
    return src[:, :S], lengths, tgt[:, :T]


def train_seq2seq(model, arrays, steps: int, batch_size: int, lr: float, rng, ctx, desc: str,
                  max_norm: float = 5.0, on_step=None, start_step: int = 0, opt=None, losses=None,
                  label_smoothing: float = 0.0, lr_at=None):
    """Adam on the teacher-forced cross-entropy with gradient-norm clipping; returns (losses, optimizer).

    Steps ``start_step + 1 .. steps`` are taken (a resumed run passes the steps already done and the restored
    ``opt``); each step's loss is appended to ``losses`` (a new list by default), so ``on_step(step, opt)``
    can read them, e.g. to checkpoint them. ``lr_at(step)``, if given, sets the learning rate of each step
    (a function of the step alone, so a resumed run follows the same schedule); ``label_smoothing`` is passed
    to ``model.loss``, and the logged losses include it.

    Raises:
        NonFiniteError: naming the step where the loss stopped being finite.
    """
    opt = opt or Adam(list(model.parameters()), lr=lr)
    n = len(arrays[0])
    losses = [] if losses is None else losses
    loss_kw = {"label_smoothing": label_smoothing} if label_smoothing else {}
    model.train()
    for step in ctx.progress(range(start_step + 1, steps + 1), total=steps - start_step, desc=desc):
        if lr_at is not None:
            opt.lr = lr_at(step)
        src, lengths, tgt = batch_of(arrays, rng.integers(0, n, batch_size))
        losses.append(train_step(opt, lambda: model.loss(src, tgt, lengths, **loss_kw), max_norm=max_norm,
                                 where=step, model=model).loss)
        if on_step is not None:
            on_step(step, opt)
    return losses, opt


def exact_match(model, arrays, tgt_vocab: Vocabulary, max_len: int, batch_size: int = 500) -> np.ndarray:
    """Per pair: 1.0 if greedy decoding reproduces the target exactly, else 0.0."""
    src, lengths, tgt = arrays
    hits = []
    for i in range(0, len(src), batch_size):
        sl = slice(i, i + batch_size)
        S = int(lengths[sl].max())
        out = model.greedy(src[sl, :S], lengths[sl], max_len=max_len)
        hits += [float(tgt_vocab.decode(o) == tgt_vocab.decode(t)) for o, t in zip(out, tgt[sl])]
    return np.array(hits)
