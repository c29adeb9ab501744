"""Checkpoint files: one ``.npz`` holding every array plus its JSON metadata.

A checkpoint is everything a run needs to continue exactly where it stopped:
the model's parameters and buffers, the optimizer's state (moments, step
counts), the learning-rate schedule, the training DataLoader's shuffle RNG, any
other RNG the model draws from (Dropout masks), the callbacks' state, the epoch
and step counters, the history and the run's config.

Format (version 1): a NumPy ``.npz`` archive read with ``allow_pickle=False``,
so loading one never runs code from it.

* ``model/<name>``: each array of ``model.state_dict()`` under its own name;
* every other array (optimizer moments, NumPy scalars) under a path such as
  ``optimizer/m/0``;
* ``__meta__``: UTF-8 JSON text stored as a ``uint8`` array. Its fields are
  ``format`` (``"glassnet-checkpoint"``), ``version``, ``epoch`` (epochs
  completed), ``step`` (optimizer steps taken), ``history``, ``config``,
  ``seconds`` and the state trees ``optimizer``, ``scheduler``, ``loader``,
  ``rngs``, ``callbacks`` and ``extra``. In a tree an array is replaced by
  ``{"__array__": key}``, a tuple by ``{"__tuple__": [...]}`` and a dict with
  non-string keys by ``{"__items__": [[key, value], ...]}``, so the round trip
  is exact: arrays and NumPy scalars keep their dtype, Python ints of any
  size (a PCG64 state is 128 bits) stay ints.

The file is written with :func:`glassnet.fileio.atomic_savez` (temporary file,
fsync, rename), so a crash or a kill mid-write leaves the previous checkpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.backend import to_numpy
from glassnet.errors import DataError, NonFiniteError
from glassnet.fileio import atomic_savez, load_npz

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "FORMAT", "VERSION"]

FORMAT = "glassnet-checkpoint"
VERSION = 1
_META = "__meta__"
_MODEL = "model/"


@dataclass
class Checkpoint:
    """The content of a checkpoint file.

    Attributes:
        model: ``model.state_dict()`` (name -> array).
        epoch: epochs completed when it was written.
        step: optimizer steps taken when it was written.
        optimizer: ``optimizer.state_dict()`` or None.
        scheduler: ``scheduler.state_dict()`` or None.
        loader: the training DataLoader's ``state_dict()`` or None.
        rngs: ``bit_generator.state`` of each named Generator (e.g. ``"layers.2.rng"``).
        callbacks: each callback's ``state_dict()`` by callback key.
        history: ``History.to_dict()``.
        config: the run's settings (JSON-able), for the record and for resuming.
        seconds: training wall-clock seconds so far (over every resumed part).
        stopped: True when early stopping ended the run.
        extra: anything else the caller wants stored (JSON-able or arrays).
    """

    model: dict[str, np.ndarray]
    epoch: int = 0
    step: int = 0
    optimizer: Any = None
    scheduler: Any = None
    loader: Any = None
    rngs: dict[str, Any] = field(default_factory=dict)
    callbacks: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


_TREES = ("optimizer", "scheduler", "loader", "rngs", "callbacks", "history", "config", "extra")
_DICT_TREES = ("rngs", "callbacks", "history", "config", "extra")  # the others may be null


def _encode(obj: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """Replace the arrays in ``obj`` by references into ``arrays`` (stored under ``key``)."""
    if isinstance(obj, np.generic) or hasattr(obj, "__array__") and not isinstance(obj, (list, tuple, dict)):
        arrays[key] = np.asarray(to_numpy(obj))
        return {"__array__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _encode(v, f"{key}/{k}", arrays) for k, v in obj.items()}
        return {"__items__": [[k, _encode(v, f"{key}/{k}", arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"save_checkpoint: cannot store a value of type {type(obj).__name__} at {key!r}")


def _decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            a = arrays[obj["__array__"]]
            return a[()] if a.ndim == 0 else a  # a 0-d array was a NumPy scalar
        if set(obj) == {"__tuple__"}:
            return tuple(_decode(v, arrays) for v in obj["__tuple__"])
        if set(obj) == {"__items__"}:
            return {k: _decode(v, arrays) for k, v in obj["__items__"]}
        return {k: _decode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    return obj


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` (an ``.npz``) atomically; returns the path.

    Raises:
        NonFiniteError: a floating-point array of ``checkpoint.model`` holds NaN or infinity (a diverged
            run): nothing is written, so the file on disk keeps the last finite weights.
        TypeError: if a state tree holds a value that is neither JSON-able nor an array.
    """
    arrays: dict[str, np.ndarray] = {f"{_MODEL}{k}": np.asarray(to_numpy(v)) for k, v in checkpoint.model.items()}
    for k, a in arrays.items():
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise NonFiniteError(f"save_checkpoint: model entry {k[len(_MODEL):]!r} is not finite (epoch "
                                 f"{checkpoint.epoch}, step {checkpoint.step}); refusing to write {path}")
    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "epoch": int(checkpoint.epoch),
                            "step": int(checkpoint.step), "seconds": float(checkpoint.seconds),
                            "stopped": bool(checkpoint.stopped)}
    for name in _TREES:
        meta[name] = _encode(getattr(checkpoint, name), name, arrays)
    text = json.dumps(meta, ensure_ascii=False, allow_nan=True)
    arrays[_META] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return atomic_savez(path, arrays)


def _check_int(meta: dict[str, Any], key: str, path: Path) -> int:
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise DataError(f"checkpoint: {path} has metadata {key!r} = {v!r}, expected an int >= 0")
    return v


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (``allow_pickle=False``).

    Raises:
        DataError: if the file is missing, is not a readable ``.npz`` (random bytes, damaged,
            encrypted or unsupported entries), or is not a glassnet checkpoint of a known version
            with well-formed metadata (``epoch``, ``step``, the state trees); one line naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint: no such file: {path}")
    try:
        arrays = load_npz(path)
    except DataError as e:
        raise DataError(f"checkpoint: {e}") from None
    if _META not in arrays:
        raise DataError(f"checkpoint: {path} has no {_META} entry; not a glassnet checkpoint")
    try:
        meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"checkpoint: {path} has unreadable metadata ({e})") from None
    if not isinstance(meta, dict):
        raise DataError(f"checkpoint: {path} has metadata of type {type(meta).__name__}, expected a JSON object")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise DataError(f"checkpoint: {path} has format {meta.get('format')!r} version {meta.get('version')!r}, "
                        f"expected {FORMAT!r} version {VERSION}")
    epoch, step = _check_int(meta, "epoch", path), _check_int(meta, "step", path)
    seconds, stopped = meta.get("seconds", 0.0), meta.get("stopped", False)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise DataError(f"checkpoint: {path} has metadata 'seconds' = {seconds!r}, expected a number")
    if not isinstance(stopped, bool):
        raise DataError(f"checkpoint: {path} has metadata 'stopped' = {stopped!r}, expected true or false")
    model = {k[len(_MODEL):]: v for k, v in arrays.items() if k.startswith(_MODEL)}
    try:
        trees = {name: _decode(meta.get(name), arrays) for name in _TREES}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DataError(f"checkpoint: {path} has a malformed state tree ({type(e).__name__}: {e})") from None
    for name in _TREES:
        if name in _DICT_TREES:
            trees[name] = trees[name] or {}
        if not isinstance(trees[name], dict) and not (trees[name] is None and name not in _DICT_TREES):
            raise DataError(f"checkpoint: {path} has metadata {name!r} of type {type(trees[name]).__name__}, "
                            f"expected an object{'' if name in _DICT_TREES else ' or null'}")
    epochs = trees["history"].get("epochs", [])
    if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
        raise DataError(f"checkpoint: {path} has a history whose 'epochs' is not a list of records")
    return Checkpoint(model=model, epoch=epoch, step=step, seconds=float(seconds), stopped=stopped, **trees)
