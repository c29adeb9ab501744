"""A vocabulary: tokens to integer ids and back, with special tokens and a minimum frequency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from glassnet.checks import check_size
from glassnet.errors import ConfigError, DataError, DTypeError, ShapeError

__all__ = ["Vocabulary", "pad_sequences", "PAD", "UNK", "BOS", "EOS", "SPECIALS"]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
#: The default special tokens, ids 0..3 in this order (``<pad>`` = 0 so zero-filled arrays are padding).
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocabulary:
    """Tokens <-> ids. Specials come first (``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3 by default),
    then the corpus tokens by decreasing count, ties by first appearance (so the order is deterministic).

    Args:
        tokens: the id -> token list (no duplicates).
        counts: optional corpus count per id (0 for specials), used e.g. by word2vec's noise distribution.

    Raises:
        ConfigError: for duplicate tokens or counts of the wrong length.
    """

    def __init__(self, tokens: Sequence[str], counts: Sequence[int] | None = None):
        self.itos = list(tokens)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = next(t for t, c in Counter(self.itos).items() if c > 1)
            raise ConfigError(f"Vocabulary: tokens must be unique, {dup!r} appears more than once")
        self.counts = np.zeros(len(self.itos), np.int64) if counts is None else np.asarray(counts, np.int64)
        if self.counts.shape != (len(self.itos),):
            raise ConfigError(f"Vocabulary: counts must have one entry per token ({len(self.itos)}), "
                              f"got shape {self.counts.shape}")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None,
              specials: Sequence[str] = SPECIALS) -> Vocabulary:
        """Count tokens in ``sentences`` (lists of str) and keep those seen at least ``min_freq`` times.

        Args:
            sentences: iterable of token lists.
            min_freq: minimum count for a token to get its own id (rarer ones become ``<unk>``).
            max_size: keep at most this many ids in total, specials included (None: no cap).
            specials: tokens placed first, whatever their count (``()`` for none, as word2vec uses).

        Raises:
            ConfigError: for ``min_freq < 1``, a ``max_size`` smaller than the specials, or a sentence that is a
                str rather than a token list.
        """
        min_freq = check_size(min_freq, "min_freq", "Vocabulary.build")
        if max_size is not None and (not isinstance(max_size, int) or max_size < len(specials)):
            raise ConfigError(f"Vocabulary.build: max_size must be an int >= {len(specials)} (the specials), "
                              f"got {max_size!r}")
        counter: Counter = Counter()
        for i, s in enumerate(sentences):
            if isinstance(s, str):  # Counter would count its characters: a character vocabulary, silently
                raise ConfigError(f"Vocabulary.build: sentences must be token lists, sentences[{i}] is a str "
                                  f"({s[:30]!r}); split it first, e.g. whitespace_tokenize")
            counter.update(s)
        # Counter keeps first-appearance order; a stable sort by count keeps it among ties
        kept = [t for t, c in sorted(counter.items(), key=lambda kv: -kv[1]) if c >= min_freq and t not in specials]
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        tokens = list(specials) + kept
        return cls(tokens, [counter.get(t, 0) for t in tokens])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens: {self.itos[:6]}...)"

    def _special_id(self, token: str) -> int:
        if token not in self.stoi:
            raise ConfigError(f"Vocabulary: this vocabulary has no {token} token")
        return self.stoi[token]

    @property
    def pad_id(self) -> int:
        return self._special_id(PAD)

    @property
    def unk_id(self) -> int:
        return self._special_id(UNK)

    @property
    def bos_id(self) -> int:
        return self._special_id(BOS)

    @property
    def eos_id(self) -> int:
        return self._special_id(EOS)

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> np.ndarray:
        """Token ids (int64) of ``tokens``; unknown tokens become ``<unk>``; optional ``<bos>``/``<eos>`` around.

        Raises:
            DataError: for an unknown token when the vocabulary has no ``<unk>``.
            ConfigError: if ``tokens`` is a str rather than a token list.
        """
        if isinstance(tokens, str):
            raise ConfigError(f"Vocabulary.encode: tokens must be a token list, got a str ({tokens[:30]!r}); "
                              "split it first, e.g. whitespace_tokenize")
        unk = self.stoi.get(UNK)
        ids = []
        for t in tokens:
            i = self.stoi.get(t, unk)
            if i is None:
                raise DataError(f"Vocabulary.encode: unknown token {t!r} and no {UNK} in the vocabulary")
            ids.append(i)
        if bos:
            ids.insert(0, self.bos_id)
        if eos:
            ids.append(self.eos_id)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int], strip: bool = True) -> list[str]:
        """Tokens of ``ids``. With ``strip``, stop at the first ``<eos>`` and drop ``<pad>`` and ``<bos>``.

        Raises:
            ShapeError: for an id outside ``[0, len(self))``.
            DTypeError: for non-integer ids.
        """
        out = []
        stop = self.stoi.get(EOS) if strip else None
        skip = {self.stoi.get(PAD), self.stoi.get(BOS)} if strip else set()
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        if arr.size and arr.dtype.kind not in "iu":
            raise DTypeError(f"Vocabulary.decode: ids must be integers, got dtype {arr.dtype}")
        for i in arr.ravel().tolist():
            if not 0 <= i < len(self.itos):
                raise ShapeError(f"Vocabulary.decode: ids must be in [0, {len(self.itos)}), got {i}")
            if i == stop:
                break
            if i not in skip:
                out.append(self.itos[i])
        return out


def pad_sequences(seqs: Sequence[np.ndarray], pad_id: int = 0,
                  length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack 1-D id arrays into ``(N, T)`` int64, right-padded with ``pad_id``; returns ``(ids, lengths (N,))``.

    Args:
        length: T (default: the longest); longer sequences are cut to it.

    Raises:
        ShapeError: if a sequence is not 1-D.
    """
    for i, s in enumerate(seqs):
        if np.ndim(s) != 1:
            raise ShapeError(f"pad_sequences: seqs[{i}] must be 1-D, got shape {np.shape(s)}")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    T = int(lengths.max(initial=0)) if length is None else int(length)
    lengths = np.minimum(lengths, T)
    out = np.full((len(seqs), T), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : lengths[i]] = s[: lengths[i]]
    return out, lengths
