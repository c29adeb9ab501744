"""Saving and loading a model's state: ``glassnet.save(model, path)``, ``model.load_state_dict(glassnet.load(path))``.

The file is a plain ``.npz`` of the state dict (parameters and buffers by dotted name), written
atomically and read with ``allow_pickle=False``: loading never runs code from the file. A file that
is missing, not an ``.npz``, or holds anything but numeric arrays raises :class:`~glassnet.errors.DataError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.errors import ConfigError, DataError
from glassnet.fileio import atomic_savez, load_npz

__all__ = ["save", "load"]


def save(obj: Any, path: str | os.PathLike) -> Path:
    """Write a Module's ``state_dict()`` (or a dict of arrays) to ``path`` as ``.npz``, atomically.

    Raises:
        ConfigError: ``obj`` is neither a Module nor a dict of numeric arrays keyed by strings.
    """
    state = obj.state_dict() if hasattr(obj, "state_dict") and callable(obj.state_dict) else obj
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ConfigError(f"save: obj must be a Module or a dict of arrays keyed by name, got {type(obj).__name__}")
    arrays = {}
    for k, v in state.items():
        a = np.asarray(v)
        if a.dtype.kind not in "biuf":
            raise ConfigError(f"save: entry {k!r} must be a numeric array, got dtype {a.dtype}")
        arrays[k] = a
    return atomic_savez(path, arrays)


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a state dict written by :func:`save` (or any ``.npz`` of numeric arrays), never unpickling.

    Raises:
        DataError: the file is missing, not an ``.npz``, damaged (encrypted entries, unknown compression),
            or holds non-numeric entries; one line naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"load: no such file: {path}")
    try:
        state = load_npz(path)
    except DataError as e:
        raise DataError(f"load: not a glassnet state file (.npz of arrays): {e}") from None
    for k, v in state.items():
        if v.dtype.kind not in "biuf":
            raise DataError(f"load: entry {k!r} of {path} has dtype {v.dtype}, not a numeric array")
    return state
