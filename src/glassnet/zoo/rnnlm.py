"""``RNNLM``: the recurrent language model of the course, ``Embedding -> RNN/LSTM/GRU -> Linear``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.backend import to_numpy
from glassnet.checks import as_generator, check_int
from glassnet.errors import ConfigError, ShapeError

__all__ = ["RNNLM", "perplexity", "batchify"]

_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNLM(nn.Module):
    """Language model ``p(w_{t+1} | w_1..w_t) = softmax(h_t W_out + b_out)``, ``h_t`` from a recurrent layer.

    ::

        e_t = W_emb[w_t]                       (Embedding, (V, E))
        h_t = cell(e_t, h_{t-1})               (RNN, LSTM or GRU, num_layers stacked)
        logits_t = dropout(h_t) W_out + b_out  (Linear, (H, V))

    Shapes: ``tokens (N, T)`` int in ``[0, V)`` -> ``logits (N, T, V)``; ``state`` as the recurrent layer's
    (``h (L, N, H)``, for the LSTM a pair ``(h, c)``). Train with ``F.softmax_cross_entropy(logits, targets)``
    where ``targets`` are the tokens shifted by one.

    Args:
        vocab_size: V.
        embed_dim: E.
        hidden_size: H.
        cell: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``.
        num_layers: stacked recurrent layers.
        dropout: dropout on the embeddings, between layers and before the output layer (Zaremba et al. 2014).
        stateful: carry the final state into the next call, graph cut (truncated BPTT over a long stream);
            call :meth:`reset_state` at the start of a new stream.
        rng: numpy Generator, int seed or None (init and dropout).

    Raises:
        ConfigError: on an unknown cell or bad sizes.
        ShapeError: (forward) if ``tokens`` is not ``(N, T)``.

    Reference: Mikolov et al., *Recurrent neural network based language model*, 2010; Zaremba, Sutskever &
    Vinyals, *Recurrent neural network regularization*, 2014.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, cell: str = "lstm", num_layers: int = 1,
                 dropout: float = 0.0, stateful: bool = False, rng: Any = None) -> None:
        super().__init__()
        if cell not in _LAYERS:
            raise ConfigError(f"RNNLM: cell must be one of {', '.join(_LAYERS)}, got {cell!r}")
        rng = as_generator(rng, "RNNLM: rng")
        self.cell = cell
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed_dim, rng=rng)
        self.rec = _LAYERS[cell](embed_dim, hidden_size, num_layers=num_layers, dropout=dropout, stateful=stateful,
                                 rng=rng)
        self.drop = nn.Dropout(dropout, rng=rng)
        self.out = nn.Linear(hidden_size, vocab_size, rng=rng)

    def forward(self, tokens: Any, state: Any = None):
        """``tokens (N, T)`` -> ``(logits (N, T, V), state)``."""
        shape = getattr(tokens, "shape", None)
        if shape is None or len(shape) != 2:
            raise ShapeError(f"RNNLM: tokens must be (N, T) ints, got shape {shape}")
        e = self.drop(self.embed(tokens))  # (N, T, E)
        hs, state = self.rec(e, state)  # (N, T, H)
        return self.out(self.drop(hs)), state  # (N, T, V)

    def reset_state(self) -> None:
        """Forget the carried state (``stateful=True``): the next call starts from zeros."""
        self.rec.reset_state()

    def generate(self, prefix: Sequence[int], n: int, temperature: float = 1.0, rng: Any = None) -> list[int]:
        """Sample ``n`` tokens after ``prefix``: ``w_{t+1} ~ softmax(logits_t / temperature)``.

        Runs in eval mode without a graph and restores the previous mode; a stateful model's carried
        state is left as it was. ``temperature`` < 1 sharpens the distribution, > 1 flattens it;
        ``temperature=0`` takes the most likely token (greedy).

        Returns:
            The ``n`` new token ids (the prefix is not repeated).

        Raises:
            ConfigError: on an empty prefix, an id outside ``[0, V)``, negative ``n`` or ``temperature``.
        """
        ids = np.asarray(list(prefix), dtype=np.int64)
        if ids.ndim != 1 or len(ids) == 0:
            raise ConfigError("RNNLM.generate: prefix must be a non-empty sequence of token ids")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ConfigError(
                f"RNNLM.generate: prefix ids must be in [0, {self.vocab_size}), got {ids.min()}..{ids.max()}"
            )
        n = check_int(n, "n", "RNNLM.generate", min=0)
        if not temperature >= 0:
            raise ConfigError(f"RNNLM.generate: temperature must be >= 0, got {temperature!r}")
        rng = as_generator(rng, "RNNLM.generate: rng")
        was_training, stateful, carried = self.training, self.rec.stateful, self.rec._state
        self.eval()
        self.rec.stateful = False  # thread the state by hand; leave the carried one untouched
        out: list[int] = []
        try:
            with no_grad():
                logits, state = self(ids[None, :])  # (1, T, V)
                for _ in range(n):
                    z = to_numpy(logits.data[0, -1]).astype(np.float64)  # (V,) to the host: the sampler's side
                    if temperature == 0:
                        token = int(z.argmax())
                    else:
                        p = np.exp((z - z.max()) / temperature)
                        token = int(rng.choice(len(p), p=p / p.sum()))
                    out.append(token)
                    logits, state = self(np.array([[token]]), state)  # (1, 1, V)
        finally:
            self.rec.stateful, self.rec._state = stateful, carried
            self.train(was_training)
        return out


def perplexity(model: RNNLM, tokens: np.ndarray, batch_size: int, bptt: int) -> float:
    """``exp`` of the mean cross-entropy per token of ``model`` on one long stream ``tokens`` (int, (S,)).

    The stream is cut into ``batch_size`` parallel rows read ``bptt`` steps at a time, the state carried
    between chunks (as in training); every token but the first of each row is predicted once.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    rows = batchify(tokens, batch_size)  # (N, S/N)
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with no_grad():
        for start in range(0, rows.shape[1] - 1, bptt):
            x = rows[:, start:start + bptt]
            y = rows[:, start + 1:start + 1 + bptt]
            x = x[:, : y.shape[1]]
            logits, state = model(x, state)
            total += float(F.softmax_cross_entropy(logits, y, reduction="sum").item())
            count += y.size
    model.train(was_training)
    return float(np.exp(total / count))


def batchify(tokens: np.ndarray, batch_size: int) -> np.ndarray:
    """A stream ``(S,)`` as ``batch_size`` contiguous rows ``(N, S // N)`` (the tail that does not fit is dropped)."""
    width = len(tokens) // batch_size
    if width < 2:
        raise ConfigError(f"batchify: {len(tokens)} tokens are too few for batch_size {batch_size}")
    return np.asarray(tokens[: width * batch_size]).reshape(batch_size, width)
