"""Datasets: an indexable collection of samples; :class:`ArrayDataset` wraps arrays that share axis 0."""

from __future__ import annotations

import abc

import numpy as np

from glassnet.errors import ShapeError

__all__ = ["Dataset", "ArrayDataset"]


class Dataset(abc.ABC):
    """A sized, indexable collection of samples.

    ``dataset[i]`` returns one sample: a tuple of arrays (or numbers), e.g. ``(x_i, y_i)``, or a single
    array; :class:`~glassnet.data.DataLoader` stacks the samples of a batch field by field with ``np.stack``.
    """

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def __getitem__(self, index: int): ...


class ArrayDataset(Dataset):
    """Samples are rows of arrays that share their first dimension: ``dataset[i] == (a[i], b[i], ...)``.

    Any index NumPy accepts works (an int, a slice, an int array), which is how the DataLoader batches an
    ArrayDataset with one fancy-indexing per array instead of stacking N samples.

    Args:
        *arrays: one or more arrays (anything ``np.asarray`` takes), each at least 1-D, same length N.

    Raises:
        ShapeError: no array, a 0-d array, or first dimensions that differ.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ShapeError("ArrayDataset: needs at least one array, got none")
        self.arrays = tuple(np.asarray(a) for a in arrays)
        shapes = [a.shape for a in self.arrays]
        if any(len(s) == 0 for s in shapes):
            raise ShapeError(f"ArrayDataset: every array must be at least 1-D (N, ...), got shapes {shapes}")
        if len({s[0] for s in shapes}) != 1:
            raise ShapeError(f"ArrayDataset: arrays must share their first dimension N, got shapes {shapes}")

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)
