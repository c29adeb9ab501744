"""Keras-style ``compile``, ``fit``, ``evaluate``, ``predict`` on top of :class:`~glassnet.train.Trainer`.

The course teaches Keras; this is the same four calls on a glassnet model::

    from glassnet import nn
    from glassnet.train import SequentialModel

    model = SequentialModel(nn.Linear(64, 128, rng=0), nn.ReLU(), nn.Linear(128, 10, rng=1))
    model.compile(optimizer="adam", loss="softmax_cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=64, validation_split=0.1, seed=0)
    model.evaluate(x_test, y_test)      # {"loss": ..., "accuracy": ...}
    model.predict(x_test)               # (N, K) logits as a NumPy array

:class:`Model` is a mixin for any Module (``class Net(Model, nn.Module)``);
:class:`SequentialModel` is ``nn.Sequential`` with it (named apart from that
container). Deliberate differences from Keras: the model outputs logits and the
losses take logits (Keras's ``from_logits=True``); ``evaluate`` returns a dict;
``seed`` makes the shuffling reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from glassnet import nn, optim
from glassnet.backend import to_numpy
from glassnet.data import ArrayDataset, DataLoader
from glassnet.errors import ConfigError, ShapeError
from glassnet.train.callbacks import Callback
from glassnet.train.history import History
from glassnet.train.trainer import Trainer

__all__ = ["Model", "SequentialModel", "OPTIMIZERS", "make_optimizer"]

OPTIMIZERS: dict[str, type] = {"sgd": optim.SGD, "adagrad": optim.AdaGrad, "rmsprop": optim.RMSprop,
                               "adam": optim.Adam}


def make_optimizer(optimizer: str | Any, params: Iterable[Any], lr: float | None = None) -> Any:
    """An optimizer from a name in :data:`OPTIMIZERS` (its default lr unless ``lr`` is given), or ``optimizer`` itself.

    Raises:
        ConfigError: an unknown name, or ``lr`` given together with an optimizer object.
    """
    if isinstance(optimizer, str):
        cls = OPTIMIZERS.get(optimizer.lower())
        if cls is None:
            raise ConfigError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an Optimizer, got {optimizer!r}")
        if lr is None:
            return cls(params) if cls is not optim.SGD else cls(params, lr=0.01)
        return cls(params, lr=lr)
    if not isinstance(optimizer, optim.Optimizer):
        raise ConfigError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an Optimizer, "
                          f"got {type(optimizer).__name__}")
    if lr is not None:
        raise ConfigError("compile: give lr only with an optimizer name; set it on the Optimizer object instead")
    return optimizer


def _as_inputs(x: Any, dtype: np.dtype) -> np.ndarray:
    x = np.asarray(to_numpy(x))
    return x.astype(dtype, copy=False) if x.dtype.kind == "f" else x


class Model:
    """Mixin giving a :class:`~glassnet.nn.Module` Keras's ``compile``/``fit``/``evaluate``/``predict``."""

    def compile(self, optimizer: str | Any = "adam", loss: str | Callable = "softmax_cross_entropy",
                metrics: Sequence[str | Callable] = ("accuracy",), lr: float | None = None,
                clip_grad_norm: float | None = None) -> None:
        """Choose the optimizer, loss and metrics (a fresh :class:`Trainer`; the weights are kept).

        Args:
            optimizer: ``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"adagrad"`` or an Optimizer
                over this model's parameters.
            loss: a loss name (``"softmax_cross_entropy"``, ``"mean_squared_error"``,
                ``"binary_cross_entropy_with_logits"``, Keras aliases) or a callable.
            metrics: metric names (``"accuracy"``) or callables.
            lr: learning rate for an optimizer given by name (default: the optimizer's).
            clip_grad_norm: clip gradients to this global L2 norm before each step.

        Raises:
            ConfigError: unknown optimizer, loss or metric names.
        """
        opt = make_optimizer(optimizer, self.parameters(), lr)
        self.__dict__["_trainer"] = Trainer(self, opt, loss=loss, metrics=metrics, clip_grad_norm=clip_grad_norm)

    @property
    def trainer(self) -> Trainer:
        """The :class:`Trainer` made by :meth:`compile`.

        Raises:
            ConfigError: before :meth:`compile`.
        """
        t = self.__dict__.get("_trainer")
        if t is None:
            raise ConfigError(f"{type(self).__name__}: call compile(...) before fit, evaluate or predict")
        return t

    def _dtype(self) -> np.dtype:
        p = next(iter(self.parameters()), None)
        return p.data.dtype if p is not None else np.dtype(np.float32)

    def fit(self, x: Any, y: Any, epochs: int = 1, batch_size: int = 32,
            validation_data: tuple[Any, Any] | None = None, validation_split: float = 0.0, shuffle: bool = True,
            seed: int | None = 0, callbacks: Iterable[Callback] = (), verbose: int = 1) -> History:
        """Train for ``epochs`` more epochs on ``(x, y)``; returns the History of these epochs.

        Args:
            x: inputs (N, ...); float arrays are cast to the model's dtype.
            y: targets (N, ...).
            epochs: epochs to train in this call.
            batch_size: samples per step.
            validation_data: ``(x_val, y_val)`` evaluated after each epoch.
            validation_split: fraction in [0, 1) of the samples held out for validation
                instead: the *last* ones, before shuffling (as Keras does).
            shuffle: reshuffle the training samples each epoch.
            seed: seed of the shuffling (same seed, same run).
            callbacks: extra callbacks (early stopping, checkpoints).
            verbose: 1 for a progress bar, 0 for none.

        Raises:
            ConfigError: before compile; bad epochs, batch_size or validation_split; both
                validation_data and validation_split.
            ShapeError: x and y of different lengths.
            NonFiniteError: the loss or a gradient became non-finite (names epoch and step).
        """
        trainer = self.trainer
        x, y = _as_inputs(x, self._dtype()), np.asarray(to_numpy(y))
        if len(x) != len(y):
            raise ShapeError(f"fit: x and y must have the same length N, got {len(x)} and {len(y)}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ConfigError(f"fit: epochs must be an int >= 0, got {epochs!r}")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ConfigError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if validation_data is not None and validation_split:
            raise ConfigError("fit: give validation_data or validation_split, not both")
        if validation_split:
            n_val = int(round(len(x) * validation_split))
            if not 0 < n_val < len(x):
                raise ConfigError(f"fit: validation_split={validation_split} leaves no sample for training "
                                  f"or validation out of N={len(x)}")
            validation_data = (x[-n_val:], y[-n_val:])
            x, y = x[:-n_val], y[:-n_val]
        train_loader = DataLoader(ArrayDataset(x, y), batch_size=batch_size, shuffle=shuffle, rng=seed)
        val_loader = None
        if validation_data is not None:
            xv, yv = validation_data
            val_loader = DataLoader(ArrayDataset(_as_inputs(xv, self._dtype()), np.asarray(to_numpy(yv))),
                                    batch_size=max(batch_size, 256))
        # each call runs the callbacks it was given, as Keras does (those of earlier calls are not kept)
        callbacks = list(callbacks)
        for c in callbacks:
            if not isinstance(c, Callback):
                raise ConfigError(f"fit: callbacks must be Callback objects, got {type(c).__name__}")
        trainer.callbacks = sorted(callbacks, key=lambda c: c.order)
        first = trainer.epoch
        trainer.stop_training = False
        trainer.fit(train_loader, trainer.epoch + int(epochs), val_loader=val_loader, progress=bool(verbose))
        return History(trainer.history.epochs[first:])

    def evaluate(self, x: Any, y: Any, batch_size: int = 256) -> dict[str, float]:
        """Loss and metrics on ``(x, y)`` in evaluation mode: ``{"loss": ..., "accuracy": ...}``.

        Raises:
            ConfigError: before compile, or a bad batch_size.
            ShapeError: x and y of different lengths.
        """
        x, y = _as_inputs(x, self._dtype()), np.asarray(to_numpy(y))
        if len(x) != len(y):
            raise ShapeError(f"evaluate: x and y must have the same length N, got {len(x)} and {len(y)}")
        return self.trainer.evaluate(DataLoader(ArrayDataset(x, y), batch_size=batch_size))

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for ``x`` as a NumPy array, in evaluation mode.

        Raises:
            ConfigError: before compile, or a bad batch_size.
        """
        return self.trainer.predict(_as_inputs(x, self._dtype()), batch_size=batch_size)


class SequentialModel(Model, nn.Sequential):
    """``nn.Sequential`` with Keras's ``compile``/``fit``/``evaluate``/``predict`` (see :class:`Model`)."""
