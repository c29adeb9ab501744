"""Saving and loading a model's state: ``glassnet.save(model, path)``, ``model.load_state_dict(glassnet.load(path))``.

The format follows the file's suffix:

* ``.safetensors``: the safetensors format (8-byte header length, JSON header, raw little-endian data), with an
  optional ``str -> str`` metadata map (:func:`load_metadata`). Writing needs the optional extra
  ``pip install 'glassnet[safetensors]'`` (the reference writer, imported only then); reading needs nothing
  (:func:`glassnet.fileio.parse_safetensors`, shared with :func:`glassnet.zoo.load_torch_state_dict`).
* anything else (``.npz`` by convention): a plain ``.npz`` of the state dict, read with ``allow_pickle=False``.

Both are written atomically (temporary file, fsync, rename) and loading never runs code from the file. A file
that is missing, truncated, of the wrong format, or holds anything but numeric arrays raises
:class:`~glassnet.errors.DataError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.backend import array_module_for, to_device, to_numpy
from glassnet.errors import ConfigError, DataError
from glassnet.fileio import atomic_save_safetensors, atomic_savez, load_npz, load_safetensors

__all__ = ["save", "load", "load_metadata"]

_SAFETENSORS = ".safetensors"


def _is_safetensors(path: Path) -> bool:
    return path.suffix.lower() == _SAFETENSORS


def save(obj: Any, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write a Module's ``state_dict()`` (or a dict of arrays) to ``path``, atomically; the suffix picks the format.

    Args:
        obj: a Module or a dict ``name -> numeric array`` (any strides: arrays are stored C-contiguous; arrays
            on a GPU are copied to the host first, so a file never depends on the device it was written from).
        path: ``*.safetensors`` for safetensors, anything else for ``.npz``.
        metadata: ``str -> str`` map stored in the safetensors header (``__metadata__``); ``.npz`` has none.

    Raises:
        ConfigError: ``obj`` is neither a Module nor a dict of numeric arrays keyed by strings; ``metadata``
            given for an ``.npz`` path or not a dict of strings; ``.safetensors`` without the ``safetensors``
            package (the message names the extra).
    """
    path = Path(path)
    state = obj.state_dict() if hasattr(obj, "state_dict") and callable(obj.state_dict) else obj
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ConfigError(f"save: obj must be a Module or a dict of arrays keyed by name, got {type(obj).__name__}")
    arrays = {}
    for k, v in state.items():
        a = to_numpy(v)  # device arrays are written as host arrays
        if a.dtype.kind not in "biuf":
            raise ConfigError(f"save: entry {k!r} must be a numeric array, got dtype {a.dtype}")
        arrays[k] = a
    if _is_safetensors(path):
        return atomic_save_safetensors(path, arrays, metadata)
    if metadata is not None:
        raise ConfigError(f"save: metadata is stored in .safetensors files only, got path {path}")
    return atomic_savez(path, arrays)


def _read(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"load: no such file: {path}")
    try:
        state, metadata = load_safetensors(path) if _is_safetensors(path) else (load_npz(path), {})
    except DataError as e:
        kind = "safetensors" if _is_safetensors(path) else ".npz of arrays"
        raise DataError(f"load: not a glassnet state file ({kind}): {e}") from None
    for k, v in state.items():
        if v.dtype.kind not in "biuf":
            raise DataError(f"load: entry {k!r} of {path} has dtype {v.dtype}, not a numeric array")
    return state, metadata


def load(path: str | os.PathLike, device: Any = "cpu") -> dict[str, Any]:
    """Read a state dict written by :func:`save` (or any ``.npz`` / ``.safetensors`` of numeric arrays).

    Args:
        path: the file.
        device: where the arrays go, as torch's ``map_location``: ``"cpu"`` (NumPy arrays), ``"cuda"``
            or a registered array module. ``model.load_state_dict`` moves each array to its target's
            device anyway, so ``model.to("cuda").load_state_dict(load(path))`` needs no ``device``.

    Returns:
        ``name -> array`` with the stored shapes and dtypes (safetensors' bfloat16 becomes float32).

    Raises:
        DataError: the file is missing, not of its suffix's format, truncated or damaged (encrypted entries,
            unknown compression, a safetensors header or offsets that do not fit), or holds non-numeric
            entries; one line naming the path.
        ConfigError: for an unknown ``device``, or ``"cuda"`` without CuPy (checked before reading).
    """
    xp = array_module_for(device)
    return {k: to_device(v, xp) for k, v in _read(path)[0].items()}


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``str -> str`` metadata map of a ``.safetensors`` state file (``{}`` for none, and for ``.npz``).

    Raises:
        DataError: as :func:`load`.
    """
    return _read(path)[1]
