"""``Trainer``: the fit loop — epochs of mini-batch steps, validation, history, callbacks, checkpoints.

Each batch is one :func:`~glassnet.train.step.train_step` (forward, loss,
``zero_grad``, ``backward``, optional clipping, ``step``), which checks that the
loss and every gradient are finite: a NaN never propagates silently into the
weights; training stops with :class:`~glassnet.errors.NonFiniteError` naming the
epoch, step and batch, before the bad update. After each epoch the weights and
the validation loss are checked too (an update can overflow the weights although
its gradients were finite), before any checkpoint is written. Around the steps the
trainer adds per-epoch averages of the loss and metrics,
validation, a history, callbacks (progress bar, checkpoints, early stopping)
and exact resumption: :meth:`Trainer.resume` restores the model, optimizer,
schedule, the training loader's shuffle RNG, every Generator the model owns
(Dropout masks), the callbacks' state, the counters and the history, so that
a resumed run ends with bit-identical parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from glassnet.autograd import Tensor, no_grad
from glassnet.backend import get_array_module, to_device, to_numpy
from glassnet.errors import ConfigError, NonFiniteError
from glassnet.nn import Module
from glassnet.train.callbacks import Callback, ProgressBar
from glassnet.train.checkpoint import Checkpoint, load_checkpoint
from glassnet.train.history import History
from glassnet.train.metrics import get_loss, get_metric, metric_name
from glassnet.train.step import check_finite, train_step

__all__ = ["Trainer", "model_generators"]


def model_generators(model: Module) -> dict[str, np.random.Generator]:
    """Every ``numpy.random.Generator`` held by ``model`` or a sub-module, by dotted name (``"layers.2.rng"``).

    These are the model's sources of randomness at training time (Dropout
    masks); a checkpoint stores their states. A Generator shared by several
    modules is listed once, under its first name.
    """
    found: dict[str, np.random.Generator] = {}
    seen: set[int] = set()
    for mod_name, m in model.named_modules():
        for attr, value in vars(m).items():
            if isinstance(value, np.random.Generator) and id(value) not in seen:
                seen.add(id(value))
                found[f"{mod_name}.{attr}" if mod_name else attr] = value
    return found


def _split_batch(batch: Any) -> tuple[tuple[Any, ...], Any]:
    """``(x, t)`` -> ``((x,), t)``; ``(x1, x2, t)`` -> ``((x1, x2), t)``: the last field is the target."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ConfigError(f"Trainer: a batch must be a tuple (inputs..., targets), got {type(batch).__name__}"
                          f"{'' if not isinstance(batch, (tuple, list)) else f' of length {len(batch)}'}")
    return tuple(batch[:-1]), batch[-1]


class Trainer:
    """Train ``model`` with ``optimizer`` on a loss, tracking metrics, with callbacks and exact resume.

    Args:
        model: the :class:`~glassnet.nn.Module` to train; called as ``model(*inputs)``.
        optimizer: a :class:`~glassnet.optim.Optimizer` over the model's parameters.
        loss: a name in :data:`glassnet.train.metrics.LOSSES` (``"softmax_cross_entropy"`` …)
            or a callable ``loss(outputs, targets) -> scalar Tensor``.
        metrics: names in :data:`glassnet.train.metrics.METRICS` (``"accuracy"``) or
            callables ``metric(outputs, targets) -> (total, count)``.
        callbacks: :class:`~glassnet.train.callbacks.Callback` objects (checkpoint, early stopping).
        scheduler: an lr scheduler stepped once after every epoch, or None.
        clip_grad_norm: if set, gradients are rescaled to this global L2 norm before each step.
        rngs: further Generators to save and restore with checkpoints, by name
            (those the model holds are found by :func:`model_generators`).
        grad_hook: passed to every :func:`~glassnet.train.step.train_step` (called after ``backward``), e.g.
            a :class:`~glassnet.distributed.DistributedDataParallel` (also put it among the callbacks).
        epoch_hook: called at the end of each epoch's training pass, before validation, with the epoch's
            training totals as one float64 vector ``[Σ loss·n, Σ n, (total, count) of each metric]``; it
            returns the totals the epoch's record is computed from. Data-parallel runs pass
            :meth:`DistributedDataParallel.reduce_epoch <glassnet.distributed.DistributedDataParallel.reduce_epoch>`,
            which sums them over the ranks, so the record (history, ``metrics.json``) holds the global means.

    Attributes:
        epoch: epochs completed; step: optimizer steps taken; epochs: the target of
        the current ``fit``; history: :class:`History`; stop_training: set by a
        callback to end ``fit`` after the current epoch; seconds: training time so far.

    Raises:
        ConfigError: a model that is not a Module, an unknown loss or metric,
            a bad ``clip_grad_norm``, or a ``grad_hook`` that is not callable.
    """

    def __init__(self, model: Module, optimizer: Any, loss: str | Callable = "softmax_cross_entropy",
                 metrics: Sequence[str | Callable] = ("accuracy",), callbacks: Iterable[Callback] = (),
                 scheduler: Any = None, clip_grad_norm: float | None = None,
                 rngs: dict[str, np.random.Generator] | None = None,
                 grad_hook: Callable[[], None] | None = None,
                 epoch_hook: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        if not isinstance(model, Module):
            raise ConfigError(f"Trainer: model must be a glassnet.nn.Module, got {type(model).__name__}")
        if not hasattr(optimizer, "step") or not hasattr(optimizer, "state_dict"):
            raise ConfigError(f"Trainer: optimizer must be a glassnet.optim.Optimizer, got {type(optimizer).__name__}")
        if clip_grad_norm is not None and (isinstance(clip_grad_norm, bool) or
                                           not isinstance(clip_grad_norm, (int, float)) or clip_grad_norm <= 0):
            raise ConfigError(f"Trainer: clip_grad_norm must be a number > 0 or None, got {clip_grad_norm!r}")
        if grad_hook is not None and not callable(grad_hook):
            raise ConfigError(f"Trainer: grad_hook must be callable with no argument, got {type(grad_hook).__name__}")
        if epoch_hook is not None and not callable(epoch_hook):
            raise ConfigError(f"Trainer: epoch_hook must be callable on a vector of totals, "
                              f"got {type(epoch_hook).__name__}")
        if isinstance(metrics, str):
            metrics = (metrics,)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.loss_fn = get_loss(loss)
        self.metrics = {metric_name(m): get_metric(m) for m in metrics}
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise ConfigError(f"Trainer: callbacks must be Callback objects, got {type(c).__name__}")
        self.clip_grad_norm = clip_grad_norm
        self.rngs = dict(rngs or {})
        self.grad_hook, self.epoch_hook = grad_hook, epoch_hook
        self.epoch, self.step, self.epochs = 0, 0, 0
        self.history = History()
        self.stop_training = False
        self.seconds = 0.0
        self.batches_per_epoch = 0
        self.train_loader: Any = None
        self._pending_loader_state: Any = None

    # ------------------------------------------------------------------ fit
    def fit(self, train_loader: Any, epochs: int, val_loader: Any = None, progress: bool = False) -> History:
        """Train until ``epochs`` epochs are completed in total (a resumed run continues from ``self.epoch``).

        Each epoch: one pass over ``train_loader`` (a step per batch), then the
        evaluation on ``val_loader`` (if any), the scheduler step, a history
        record ``{"epoch", "loss", <metrics>, "val_loss", "val_<metrics>", "lr"}``
        and the callbacks (the checkpoint is written last).

        Args:
            train_loader: iterable of batches ``(inputs..., targets)`` with ``len()``
                (a :class:`~glassnet.data.DataLoader`; its ``state_dict`` is checkpointed).
            epochs: total number of epochs to reach (>= 0).
            val_loader: batches for validation, or None.
            progress: show a tqdm progress bar.

        Returns:
            the :class:`History` of the whole run (all epochs so far).

        Raises:
            NonFiniteError: the loss or a gradient became NaN or infinite (names epoch and step).
            ConfigError: ``epochs`` is not an int >= 0.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ConfigError(f"Trainer.fit: epochs must be an int >= 0, got {epochs!r}")
        self.train_loader, self.epochs = train_loader, int(epochs)
        self.batches_per_epoch = len(train_loader)
        if self._pending_loader_state is not None:
            train_loader.load_state_dict(self._pending_loader_state)
            self._pending_loader_state = None
        callbacks = list(self.callbacks)
        if progress:
            callbacks.insert(0, ProgressBar())
        start, seconds_before = time.perf_counter(), self.seconds
        try:
            for c in callbacks:
                c.on_train_begin(self)
            while self.epoch < self.epochs and not self.stop_training:
                for c in callbacks:
                    c.on_epoch_begin(self)
                record: dict[str, Any] = {"epoch": self.epoch + 1}
                record.update(self._train_epoch(train_loader, callbacks))
                if val_loader is not None:
                    record.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
                self._check_finite_epoch(record)
                record["lr"] = float(self.optimizer.lr)
                if self.scheduler is not None:
                    self.scheduler.step()
                self.epoch += 1
                self.history.append(record)
                self.seconds = seconds_before + time.perf_counter() - start
                for c in callbacks:
                    c.on_epoch_end(self, record)
        finally:
            self.seconds = seconds_before + time.perf_counter() - start
            for c in callbacks:
                c.on_train_end(self)
        return self.history

    def _train_epoch(self, loader: Any, callbacks: list[Callback]) -> dict[str, float]:
        self.model.train()
        loss_sum, count = 0.0, 0
        totals = {k: [0.0, 0] for k in self.metrics}
        for batch_index, batch in enumerate(loader):
            inputs, targets = self._on_model_device(_split_batch(batch))
            step = self.step + 1
            where = f"fit at epoch {self.epoch + 1}, step {step} (batch {batch_index + 1} of {self.batches_per_epoch})"

            def compute_loss(inputs=inputs, targets=targets):
                outputs = self.model(*(Tensor(x) for x in inputs))
                return self.loss_fn(outputs, targets), outputs

            result = train_step(self.optimizer, compute_loss, max_norm=self.clip_grad_norm, where=where,
                                model=self.model, grad_hook=self.grad_hook)
            value, outputs = result.loss, result.outputs
            self.step = step
            n = len(targets)
            loss_sum += value * n
            count += n
            for k, fn in self.metrics.items():
                total, c = fn(outputs, targets)
                totals[k][0] += total
                totals[k][1] += c
            for c in callbacks:
                c.on_batch_end(self, {"loss": value, "size": n})
        if count == 0:
            raise ConfigError("Trainer.fit: the training loader yielded no batch")
        if self.epoch_hook is not None:  # e.g. the sums over every data-parallel rank: the record's means are global
            names = list(totals)
            sums = np.array([loss_sum, count, *(v for k in names for v in totals[k])], dtype=np.float64)
            sums = self.epoch_hook(sums)
            loss_sum, count = float(sums[0]), float(sums[1])
            totals = {k: [float(sums[2 + 2 * i]), float(sums[3 + 2 * i])] for i, k in enumerate(names)}
        return {"loss": loss_sum / count, **{k: t / max(c, 1) for k, (t, c) in totals.items()}}

    def _check_finite_epoch(self, record: dict[str, Any]) -> None:
        """Stop before the epoch's callbacks (the checkpoint) see non-finite weights or losses.

        Every step's loss and gradients were finite, yet one update can still overflow the
        weights (``lr = 1e39``); the validation loss is NaN then. Checked here, the error names
        this epoch and its last step, and the checkpoint files keep the previous, finite epoch.
        """
        where = f"fit at epoch {self.epoch + 1}, step {self.step}"
        for name, p in self.model.named_parameters():
            if not bool(get_array_module(p.data).isfinite(p.data).all()):
                raise NonFiniteError(f"{where}: parameter {name!r} is not finite after the update; "
                                     f"lower the learning rate or clip gradients")
        for key in ("loss", "val_loss"):
            if key in record:
                check_finite(float(record[key]), where, key)

    # ------------------------------------------------------------ inference
    def _model_module(self):
        """The array module of the model's parameters (NumPy for a model on the CPU or without parameters)."""
        first = next(iter(self.model.parameters()), None)
        return np if first is None else get_array_module(first.data)

    def _on_model_device(self, batch: tuple[tuple[Any, ...], Any]) -> tuple[tuple[Any, ...], Any]:
        """``(inputs, targets)`` moved to the model's device: loaders yield host arrays (one copy per batch)."""
        xp = self._model_module()
        if xp is np:
            return batch  # unchanged: targets may be lists or other things the loss and metrics accept
        inputs, targets = batch
        return tuple(to_device(x, xp) for x in inputs), to_device(targets, xp)

    def evaluate(self, loader: Any) -> dict[str, float]:
        """Mean loss and metrics over ``loader``'s batches, in evaluation mode without a graph.

        Returns:
            ``{"loss": ..., "<metric>": ...}``, each averaged over samples.

        Raises:
            ConfigError: if the loader yields no batch.
        """
        was_training = self.model.training
        self.model.eval()
        loss_sum, count = 0.0, 0
        totals = {k: [0.0, 0] for k in self.metrics}
        try:
            with no_grad():
                for batch in loader:
                    inputs, targets = self._on_model_device(_split_batch(batch))
                    outputs = self.model(*(Tensor(x) for x in inputs))
                    n = len(targets)
                    loss_sum += float(self.loss_fn(outputs, targets).item()) * n
                    count += n
                    for k, fn in self.metrics.items():
                        total, c = fn(outputs, targets)
                        totals[k][0] += total
                        totals[k][1] += c
        finally:
            self.model.train(was_training)
        if count == 0:
            raise ConfigError("Trainer.evaluate: the loader yielded no batch")
        return {"loss": loss_sum / count, **{k: t / max(c, 1) for k, (t, c) in totals.items()}}

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for ``x`` (N, ...) as a NumPy array, in evaluation mode, ``batch_size`` at a time.

        Raises:
            ConfigError: if ``batch_size`` is not an int >= 1.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ConfigError(f"predict: batch_size must be an int >= 1, got {batch_size!r}")
        x = np.asarray(to_numpy(x))
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                xp = self._model_module()
                parts = [to_numpy(self.model(Tensor(to_device(x[i:i + batch_size], xp))).data)
                         for i in range(0, len(x), batch_size)]
        finally:
            self.model.train(was_training)
        return np.concatenate(parts) if parts else np.zeros((0,), dtype=np.float32)

    # ----------------------------------------------------------- checkpoints
    def _callback_keys(self) -> list[tuple[str, Callback]]:
        keys: list[tuple[str, Callback]] = []
        for c in self.callbacks:
            key = c.key
            while key in dict(keys):
                key += "+"
            keys.append((key, c))
        return keys

    def _generators(self) -> dict[str, np.random.Generator]:
        return {**model_generators(self.model), **self.rngs}

    def checkpoint(self, config: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Checkpoint:
        """Everything needed to continue this run, as a :class:`Checkpoint` (write it with ``save_checkpoint``)."""
        loader = self.train_loader
        return Checkpoint(
            model=self.model.state_dict(),
            epoch=self.epoch,
            step=self.step,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            loader=loader.state_dict() if loader is not None and hasattr(loader, "state_dict") else None,
            rngs={name: g.bit_generator.state for name, g in self._generators().items()},
            callbacks={key: c.state_dict() for key, c in self._callback_keys()},
            history=self.history.to_dict(),
            config=dict(config or {}),
            seconds=self.seconds,
            stopped=self.stop_training,
            extra=dict(extra or {}),
        )

    def restore(self, checkpoint: Checkpoint) -> Checkpoint:
        """Load a :class:`Checkpoint` into the model, optimizer, scheduler, RNGs, callbacks and counters.

        The training loader's state is applied at the next :meth:`fit` (to the
        loader passed there). Returns ``checkpoint``.

        Raises:
            ConfigError: a model, optimizer or RNG that does not match the checkpoint
                (missing or unexpected names; the message lists them).
            ShapeError: a parameter of another shape.
        """
        self.model.load_state_dict(checkpoint.model)
        if checkpoint.optimizer is not None:
            self.optimizer.load_state_dict(checkpoint.optimizer)
        if (checkpoint.scheduler is None) != (self.scheduler is None):
            raise ConfigError(f"Trainer.restore: the checkpoint has {'no ' if checkpoint.scheduler is None else ''}"
                              f"scheduler state but this trainer has {'one' if self.scheduler else 'none'}")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(checkpoint.scheduler)
        generators = self._generators()
        if set(generators) != set(checkpoint.rngs):
            raise ConfigError(f"Trainer.restore: the model's random generators {sorted(generators)} differ from "
                              f"the checkpoint's {sorted(checkpoint.rngs)}")
        for name, g in generators.items():
            g.bit_generator.state = checkpoint.rngs[name]
        for key, c in self._callback_keys():
            c.load_state_dict(checkpoint.callbacks.get(key, {}))
        self._pending_loader_state = checkpoint.loader
        self.epoch, self.step = int(checkpoint.epoch), int(checkpoint.step)
        self.history = History.from_dict(checkpoint.history)
        self.seconds = float(checkpoint.seconds)
        self.stop_training = bool(checkpoint.stopped)
        return checkpoint

    def resume(self, path: Any) -> Checkpoint:
        """:meth:`restore` from the checkpoint file at ``path``; the next :meth:`fit` continues the run.

        Raises:
            DataError: the file is missing or not a glassnet checkpoint.
            ConfigError, ShapeError: as :meth:`restore`.
        """
        return self.restore(load_checkpoint(path))
