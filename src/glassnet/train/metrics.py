"""Losses and metrics by name, as ``compile(loss=..., metrics=[...])`` and the fit loop use them.

A *loss* is a callable ``loss(outputs, targets) -> Tensor`` (a scalar to
minimise); the names map to :mod:`glassnet.functional` losses, with Keras's
names as aliases. A *metric* is a callable ``metric(outputs, targets) ->
(total, count)`` on arrays, so that per-batch results add up to the exact
epoch value ``sum(total) / sum(count)`` whatever the batch sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet.backend import to_numpy
from glassnet.errors import ConfigError, ShapeError

__all__ = ["LOSSES", "METRICS", "get_loss", "get_metric", "metric_name", "accuracy"]

LOSSES: dict[str, Callable] = {
    "softmax_cross_entropy": F.softmax_cross_entropy,
    "sparse_categorical_crossentropy": F.softmax_cross_entropy,  # Keras's name (from_logits=True)
    "mean_squared_error": F.mean_squared_error,
    "mse": F.mean_squared_error,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "binary_crossentropy": F.binary_cross_entropy_with_logits,  # Keras's name (from_logits=True)
}


def accuracy(outputs: Any, targets: Any) -> tuple[float, int]:
    """Number of correct predictions and number of predictions.

    * ``outputs (N, K)`` or ``(N, T, K)`` with integer ``targets (N,)`` / ``(N, T)``:
      the prediction is ``argmax_k outputs``; targets < 0 (ignore_index) are skipped.
    * ``outputs`` of the same shape as float ``targets`` in {0, 1} (binary logits):
      the prediction is ``outputs > 0``.

    Raises:
        ShapeError: if the shapes fit neither case.
    """
    y = to_numpy(getattr(outputs, "data", outputs))
    t = to_numpy(getattr(targets, "data", targets))
    if y.ndim == t.ndim + 1 and y.shape[:-1] == t.shape:
        keep = t >= 0
        return float(np.sum((y.argmax(axis=-1) == t) & keep)), int(np.sum(keep))
    if y.shape == t.shape:
        return float(np.sum((y > 0) == (t > 0.5))), int(t.size)
    raise ShapeError(f"accuracy: outputs must be (N, K) with targets (N,), or outputs and targets of the same shape, "
                     f"got outputs {y.shape} and targets {t.shape}")


METRICS: dict[str, Callable] = {"accuracy": accuracy, "acc": accuracy}


def _lookup(kind: str, table: dict[str, Callable], value: Any) -> Callable:
    if callable(value):
        return value
    if isinstance(value, str) and value in table:
        return table[value]
    raise ConfigError(f"{kind} must be a callable or one of {sorted(table)}, got {value!r}")


def get_loss(loss: str | Callable) -> Callable:
    """The loss callable for a name in :data:`LOSSES` (or ``loss`` itself when callable).

    Raises:
        ConfigError: for an unknown name.
    """
    return _lookup("loss", LOSSES, loss)


def get_metric(metric: str | Callable) -> Callable:
    """The metric callable for a name in :data:`METRICS` (or ``metric`` itself when callable).

    Raises:
        ConfigError: for an unknown name.
    """
    return _lookup("metric", METRICS, metric)


def metric_name(metric: str | Callable) -> str:
    """The key a metric gets in the history: ``"accuracy"`` for ``"acc"``, the function's name otherwise."""
    if isinstance(metric, str):
        return "accuracy" if metric == "acc" else metric
    return getattr(metric, "__name__", type(metric).__name__)
