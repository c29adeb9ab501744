"""``Embedding``: a lookup table of learned vectors, one row per token id."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import as_generator, check_int, check_size
from glassnet.nn import init
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """Row lookup ``y[s] = W[indices[s]]``: the product of a one-hot vector and ``W``, without the product.

    Backward: ``grad_W[v] = Σ_{s: indices[s] = v} grad_y[s]`` (repeated ids accumulate).

    Shapes: ``W (V, E)``; ``indices`` ints of any shape ``S`` -> ``y (*S, E)``.
    dtype: ``y`` has ``W``'s dtype (float32 by default); ``indices`` any integer dtype.

    Init (PyTorch's default): ``W ~ N(0, 1)``, with the ``padding_idx`` row set to zero.

    Padding: with ``padding_idx = k`` the row ``W[k]`` is looked up as it is,
    but receives no gradient, so no optimizer moves it (it stays zero unless
    a state dict loads another value), as in PyTorch.

    Args:
        num_embeddings: V, the vocabulary size.
        embedding_dim: E.
        padding_idx: None, or a row index in ``[-V, V)`` (negative counts from the end).
        rng: numpy Generator, int seed or None for the initial weights.

    Raises:
        ConfigError: if a size is not a positive int, ``padding_idx`` is out of range or ``rng`` is invalid.
        DTypeError: (forward) if ``indices`` are not integers (from :func:`glassnet.functional.embedding`).
        ShapeError: (forward) if an index is outside ``[0, V)``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng: Any = None) -> None:
        super().__init__()
        V = self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        E = self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            padding_idx = check_int(padding_idx, "padding_idx", "Embedding", min=-V, max=V - 1) % V
        self.padding_idx = padding_idx
        W = init.normal((V, E), 1.0, as_generator(rng, "Embedding: rng"))  # (V, E)
        if padding_idx is not None:
            W[padding_idx] = 0.0
        self.W = Parameter(W)

    def forward(self, indices: Any) -> Any:
        xp = get_array_module(self.W)
        idx = xp.asarray(indices.data if isinstance(indices, Tensor) else indices)  # to W's device
        y = F.embedding(self.W, idx)  # (*S, E); checks the dtype and range of idx
        if self.padding_idx is not None:
            pad = idx == self.padding_idx  # (*S,)
            if pad.any():
                # same values, but the padding positions take W[k] as a constant, so W[k] gets no gradient
                keep = xp.broadcast_to(~pad[..., None], y.shape)  # (*S, E)
                y = F.where(keep, y, self.W.data[idx])
        return y

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
