"""``DistributedLoader``: each rank's strided share of the global batches of one seeded DataLoader.

Every rank builds the same :class:`~glassnet.data.DataLoader` over the whole
data set with the global batch G = R·B (R ranks, B the local batch) and the
same seed, so every rank draws the same permutation π each epoch; rank r keeps
the samples ``r, r + R, r + 2R, ...`` of each global batch::

    global batch b = π[b·G : (b+1)·G]           # the same on every rank
    rank r's batch = π[b·G + r : (b+1)·G : R]   # B samples, disjoint, together the global batch

which is the share PyTorch's ``DistributedSampler`` gives (``π[r::R]``, then
batched by B). The incomplete last global batch of an epoch is dropped
(``drop_last``), so every rank takes the same number of steps with B samples
each, and the mean of the ranks' mean gradients is the mean gradient of the
global batch: a run on R ranks sees exactly the batches (and augmentations) of
one process with ``DataLoader(batch_size=G, drop_last=True)`` and the same seed.

Cost of the exactness: each rank gathers (and augments) the whole global batch
of G rows, then keeps its B; a copy of G rows per step, small beside the step.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from glassnet.checks import check_size
from glassnet.data import DataLoader
from glassnet.distributed.world import World, init

__all__ = ["DistributedLoader"]


class DistributedLoader:
    """Mini-batches of B samples for this rank: its strided share of a global batch of R·B.

    Args:
        dataset: a :class:`~glassnet.data.Dataset` (the whole data set, the same on every rank).
        batch_size: B >= 1, the local batch of each rank (the global batch is ``world.size * B``).
        shuffle: draw a new permutation each epoch (the same on every rank).
        rng: int seed or Generator, **the same on every rank** (else the shares overlap).
        transform: ``transform(x, rng)`` applied to the global batch's inputs, as in DataLoader.
        world: the :class:`~glassnet.distributed.World` (default: :func:`~glassnet.distributed.init`).

    Attributes:
        loader: the global DataLoader (batch R·B, ``drop_last=True``); its ``state_dict`` is this loader's.

    Raises:
        ConfigError: as :class:`~glassnet.data.DataLoader`, or a data set with fewer than R·B samples
            (an epoch without a single global batch).
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False, rng=None, transform=None,
                 world: World | None = None) -> None:
        from glassnet.errors import ConfigError

        self.world = world if world is not None else init()
        self.batch_size = check_size(batch_size, "batch_size", "DistributedLoader")
        self.global_batch_size = self.world.size * self.batch_size
        self.loader = DataLoader(dataset, batch_size=self.global_batch_size, shuffle=shuffle, drop_last=True,
                                 rng=rng, transform=transform)
        if len(self.loader) == 0:
            raise ConfigError(f"DistributedLoader: the data set has {len(dataset)} samples, fewer than one global "
                              f"batch of {self.world.size} ranks x {self.batch_size}; lower batch_size")

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        r, R = self.world.rank, self.world.size
        for batch in self.loader:
            yield tuple(a[r::R] for a in batch)  # (G, ...) -> (B, ...)

    def state_dict(self) -> dict:
        """The global loader's shuffle state (equal on every rank)."""
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`; the next pass continues with the next global batch."""
        self.loader.load_state_dict(state)
