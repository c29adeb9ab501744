"""DataLoader: mini-batches of a Dataset in order or in a seeded shuffled order that can be resumed exactly."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import numpy as np

from glassnet.checks import as_generator, check_int, check_size
from glassnet.data.dataset import ArrayDataset
from glassnet.errors import ConfigError, ShapeError

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over a dataset in mini-batches; each batch is a tuple of NumPy arrays with leading size B.

    Each pass (``for batch in loader``) is one epoch. With ``shuffle=True`` an epoch visits the samples in
    the order of one permutation drawn from the loader's own ``numpy.random.Generator`` at the start of the
    epoch, so the same seed gives the same sequence of epochs.

    Batching: an :class:`ArrayDataset` is batched by fancy-indexing each array with the batch's indices
    (one copy per array); any other :class:`Dataset` is read sample by sample and each field is stacked with
    ``np.stack`` (a sample that is not a tuple/list is one field). ``len(loader)`` is the number of batches:
    ``ceil(N / B)``, or ``floor(N / B)`` with ``drop_last=True`` (the incomplete last batch is dropped).

    Augmentation: ``transform(x, rng)`` (:mod:`glassnet.data.transforms`, e.g. ``Compose([RandomCrop(32, 4),
    RandomHorizontalFlip()])``) is applied to the first field of each batch (the inputs) with a Generator of
    its own per batch: ``SeedSequence(entropy, spawn_key=(b,))`` for batch ``b``, where ``entropy`` is four
    words drawn from the loader's generator right after the epoch's permutation. So the augmentation is
    part of the epoch's stream: the same seed gives the same crops and flips, and a resumed epoch redraws
    them exactly (no state of its own to save).

    Resuming: :meth:`state_dict` captures the generator's ``bit_generator.state`` and how many batches of
    the current epoch were already served; after :meth:`load_state_dict` the next pass redraws the same
    permutation and continues with the next batch, so a run resumed from a checkpoint sees exactly the
    batches the uninterrupted run would have seen. Pass an int seed or a Generator used by nothing else:
    loading a state sets the generator's state.

    Args:
        dataset: a :class:`Dataset` (or any object with ``__len__`` and ``__getitem__``).
        batch_size: B >= 1.
        shuffle: draw a new permutation each epoch.
        drop_last: drop the last batch when it has fewer than B samples.
        rng: ``numpy.random.Generator``, int seed, or None (fresh entropy: not reproducible).
        transform: a callable ``transform(x, rng) -> x`` applied to each batch's inputs, or None.

    Raises:
        ConfigError: batch_size not a positive int, shuffle/drop_last not bool, rng of another type or a negative
            seed, a dataset without ``__len__``/``__getitem__``, or a transform that is not callable.
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False, rng=None,
                 transform=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise ConfigError(f"DataLoader: dataset must have __len__ and __getitem__, got {type(dataset).__name__}")
        batch_size = check_size(batch_size, "batch_size", "DataLoader")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ConfigError(f"DataLoader: {name} must be a bool, got {flag!r}")
        rng = as_generator(rng, "DataLoader: rng")
        if transform is not None and not callable(transform):
            raise ConfigError(f"DataLoader: transform must be callable as transform(x, rng), got {transform!r}")
        self.dataset = dataset
        self.transform = transform
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = rng
        self._epoch_start_state: dict | None = None  # generator state before this epoch's permutation
        self._batches_done = 0  # batches of the current epoch already handed out
        self._skip = 0  # batches to skip at the start of the next pass (set by load_state_dict)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        n, num_batches = len(self.dataset), len(self)
        start_state = copy.deepcopy(self.rng.bit_generator.state)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        # the epoch's augmentation entropy, from the loader's stream (so a resumed epoch redraws it)
        entropy = self.rng.integers(0, 2**63, size=4).tolist() if self.transform is not None else None
        skip, self._skip = self._skip, 0
        self._epoch_start_state, self._batches_done = start_state, skip
        for b in range(skip, num_batches):
            index = order[b * self.batch_size:(b + 1) * self.batch_size]  # (B,)
            batch = self._gather(index)
            if entropy is not None:
                gen = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(b,)))
                batch = (self.transform(batch[0], gen), *batch[1:])
            # count the batch before handing it out: a checkpoint taken while the caller holds batch b
            # must resume at b + 1
            self._batches_done = b + 1
            yield batch
        self._epoch_start_state, self._batches_done = None, 0

    def _gather(self, index: np.ndarray) -> tuple[np.ndarray, ...]:
        if isinstance(self.dataset, ArrayDataset):
            return tuple(a[index] for a in self.dataset.arrays)  # each (B, ...)
        if getattr(self.dataset, "batch_indexing", False):  # the dataset stacks a batch itself (ImageFolder)
            out = self.dataset[index]
            return tuple(out) if isinstance(out, (tuple, list)) else (out,)
        samples = [self.dataset[int(i)] for i in index]
        fields = [s if isinstance(s, (tuple, list)) else (s,) for s in samples]
        if len({len(f) for f in fields}) != 1:
            raise ShapeError(f"DataLoader: samples of one batch have different numbers of fields: "
                             f"{sorted({len(f) for f in fields})}")
        out = []
        for k in range(len(fields[0])):
            try:
                out.append(np.stack([np.asarray(f[k]) for f in fields]))  # (B, ...)
            except ValueError:
                shapes = sorted({np.shape(f[k]) for f in fields})
                raise ShapeError(f"DataLoader: field {k} of the samples has different shapes in one batch: "
                                 f"{shapes}") from None
        return tuple(out)

    def state_dict(self) -> dict:
        """The shuffle state: ``{"rng": bit_generator.state, "batches_done": int}`` (plain Python values).

        Mid-epoch, ``rng`` is the state before this epoch's permutation and ``batches_done`` the batches
        already handed out; between epochs (or after the last batch) it is the current state and 0.
        """
        if self._epoch_start_state is not None and self._batches_done < len(self):
            return {"rng": copy.deepcopy(self._epoch_start_state), "batches_done": self._batches_done}
        return {"rng": copy.deepcopy(self.rng.bit_generator.state), "batches_done": 0}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next pass continues where the saved loader was.

        Raises:
            ConfigError: missing or unexpected keys, a state of another bit generator, or ``batches_done``
                outside ``0 .. len(loader)``.
        """
        if not isinstance(state, dict) or set(state) != {"rng", "batches_done"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ConfigError(f"DataLoader.load_state_dict: expected keys ['batches_done', 'rng'], got {got}")
        rng_state, done = state["rng"], state["batches_done"]
        kind = type(self.rng.bit_generator).__name__
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != kind:
            got = rng_state.get("bit_generator") if isinstance(rng_state, dict) else type(rng_state).__name__
            raise ConfigError(f"DataLoader.load_state_dict: rng state must be for bit generator {kind}, got {got}")
        done = check_int(done, "batches_done", "DataLoader.load_state_dict", min=0, max=len(self))
        try:
            self.rng.bit_generator.state = copy.deepcopy(rng_state)
        except (TypeError, ValueError, KeyError) as e:
            raise ConfigError(f"DataLoader.load_state_dict: invalid rng state: {e}") from e
        self._skip = int(done)
        self._epoch_start_state, self._batches_done = None, 0
