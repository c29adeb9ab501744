"""Callbacks: hooks the fit loop calls at the start and end of the run, each epoch and each batch.

The trainer calls every callback's hook in increasing ``order``. The
checkpoint writer has the highest order, so the file it writes at the end of
an epoch already holds the updated state of every other callback (the early
stopping counter, the best value so far): resuming from it makes the same
decisions as the uninterrupted run.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glassnet.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from glassnet.train.trainer import Trainer

__all__ = ["Callback", "ProgressBar", "ModelCheckpoint", "EarlyStopping"]


class Callback:
    """Base class: override the hooks you need; keep resumable state in :meth:`state_dict`.

    Hooks receive the :class:`~glassnet.train.Trainer`, whose ``epoch`` (epochs
    completed), ``step`` (optimizer steps taken), ``epochs`` (the target),
    ``history`` and ``stop_training`` they may read; ``logs`` is the batch's or
    the epoch's record (``loss``, ``accuracy``, ``val_loss`` …).
    """

    order: int = 0

    @property
    def key(self) -> str:
        """The name this callback's state is stored under in a checkpoint."""
        return type(self).__name__

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer) -> None: ...

    def on_batch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None:
        """Called when fit returns or raises (also on Ctrl-C): release resources here."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state saved in checkpoints ({} when stateless)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""


def _better(mode: str, monitor: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ConfigError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


class _Monitor:
    """The best value of one logged quantity seen so far."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(f"monitor must be the name of a logged value such as 'val_loss', got {monitor!r}")
        if not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ConfigError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.mode, self.min_delta = monitor, _better(mode, monitor), float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None

    def update(self, logs: dict[str, Any]) -> bool:
        """Record ``logs[monitor]``; True if it improved on the best by more than ``min_delta``."""
        if self.monitor not in logs:
            raise ConfigError(f"monitor {self.monitor!r} is not among the logged values {sorted(logs)}; "
                              f"'val_*' values need validation data")
        value = float(logs[self.monitor])
        if math.isnan(value):
            return False
        improved = self.best is None or (value > self.best + self.min_delta if self.mode == "max"
                                         else value < self.best - self.min_delta)
        if improved:
            self.best, self.best_epoch = value, int(logs["epoch"])
        return improved

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")


class ProgressBar(Callback):
    """A tqdm bar over all the run's batches: ``epoch 3/30 … loss=0.12, accuracy=0.97, val_accuracy=0.96``.

    Beside the batches per second it shows the samples (images) per second, from the batch sizes the
    trainer reports.

    Args:
        file: stream for the bar (stderr by default).
        disable: True for no bar (quiet runs, tests).
    """

    def __init__(self, file: Any = None, disable: bool = False) -> None:
        self.file, self.disable = file, disable
        self._bar = None

    def on_train_begin(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        per_epoch = trainer.batches_per_epoch
        self._bar = tqdm(total=trainer.epochs * per_epoch, initial=trainer.epoch * per_epoch, unit="batch",
                         file=self.file or sys.stderr, disable=self.disable, dynamic_ncols=True, leave=True)
        self._samples, self._start = 0, None

    def on_epoch_begin(self, trainer: Trainer) -> None:
        self._bar.set_description(f"epoch {trainer.epoch + 1}/{trainer.epochs}", refresh=False)

    def on_batch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        import time

        self._bar.update(1)
        if self._start is None:
            self._start = time.perf_counter()
        else:  # the first batch starts the clock: its size is not counted
            self._samples += int(logs.get("size", 0))
            elapsed = time.perf_counter() - self._start
            if elapsed > 0 and self._samples:
                self._bar.set_postfix_str(f"{self._samples / elapsed:.0f} samples/s", refresh=False)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        import time

        shown = {k: f"{v:.4f}" for k, v in logs.items() if k not in ("epoch", "lr") and isinstance(v, float)}
        if self._start is not None and self._samples:
            shown["samples/s"] = f"{self._samples / max(time.perf_counter() - self._start, 1e-9):.0f}"
        self._bar.set_postfix(shown)

    def on_train_end(self, trainer: Trainer) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class ModelCheckpoint(Callback):
    """Write ``checkpoint.npz`` after every epoch, and ``best.npz`` when ``monitor`` improves.

    Both are full checkpoints (see :mod:`glassnet.train.checkpoint`), written
    atomically: a crash or ``kill -9`` at any moment leaves loadable files, and
    ``best.npz`` always holds the best epoch that ``checkpoint.npz``'s history
    names. ``Trainer.resume(directory / "checkpoint.npz")`` continues the run;
    at the start of a run the temporary files a killed writer left are removed.

    Args:
        directory: folder for the files (created if needed).
        monitor: logged value that decides ``best.npz`` (e.g. ``"val_accuracy"``);
            None for no ``best.npz``.
        mode: ``"max"``, ``"min"`` or ``"auto"`` (max for names containing "acc").
        config: the run's settings, stored in each checkpoint.

    Raises:
        ConfigError: for an unknown mode, or a monitor that is never logged.
        NonFiniteError: the model's weights are not finite (nothing is written then).
    """

    order = 100
    LAST, BEST = "checkpoint.npz", "best.npz"

    def __init__(self, directory: str | Path, monitor: str | None = "val_accuracy", mode: str = "auto",
                 config: dict[str, Any] | None = None) -> None:
        self.directory = Path(directory)
        self._monitor = _Monitor(monitor, mode) if monitor is not None else None
        self.config = dict(config or {})

    @property
    def last_path(self) -> Path:
        return self.directory / self.LAST

    @property
    def best_path(self) -> Path:
        return self.directory / self.BEST

    def on_train_begin(self, trainer: Trainer) -> None:
        from glassnet.fileio import remove_stale_temps

        # a writer killed mid-write (kill -9) leaves its temporary file; nothing else removes it
        remove_stale_temps(self.directory, (self.LAST, self.BEST))
        self._repair_best(trainer)

    def _repair_best(self, trainer: Trainer) -> None:
        """After a resume, make ``best.npz`` the checkpoint of the best epoch the restored state names.

        ``best.npz`` is written before ``checkpoint.npz`` (see :meth:`on_epoch_end`), so a kill
        between the two leaves a ``best.npz`` one epoch ahead, which the replayed epoch rewrites.
        A run directory written otherwise (by an older glassnet, or killed after ``checkpoint.npz``
        of an improving epoch) has a ``best.npz`` behind the history: when the restored state *is*
        the best epoch, it is written again from it.
        """
        if self._monitor is None or self._monitor.best_epoch is None:
            return
        from glassnet.errors import DataError
        from glassnet.train.checkpoint import load_checkpoint, save_checkpoint

        try:
            best_epoch_on_disk = load_checkpoint(self.best_path).epoch
        except DataError:
            best_epoch_on_disk = None
        if best_epoch_on_disk != self._monitor.best_epoch and trainer.epoch == self._monitor.best_epoch:
            save_checkpoint(self.best_path, trainer.checkpoint(config=self.config))

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        improved = self._monitor is not None and self._monitor.update(logs)
        # The callbacks' state (ours included) is taken after the update above,
        # so both files already know this epoch's best value.
        checkpoint = trainer.checkpoint(config=self.config)
        from glassnet.train.checkpoint import save_checkpoint

        # best.npz first: a kill between the two writes must never leave a checkpoint.npz whose
        # history names a best epoch that best.npz does not hold (the resumed run replays this
        # epoch, improves again and rewrites best.npz).
        if improved:
            save_checkpoint(self.best_path, checkpoint)
        save_checkpoint(self.last_path, checkpoint)

    def state_dict(self) -> dict[str, Any]:
        return self._monitor.state_dict() if self._monitor is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._monitor is not None:
            self._monitor.load_state_dict(state)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: logged value to watch (default ``"val_loss"``).
        patience: epochs without improvement before stopping (>= 1).
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        min_delta: smallest change that counts as an improvement.

    Attributes:
        stopped_epoch: the epoch (1-based) after which training stopped, or None.

    Raises:
        ConfigError: for a bad patience, mode or min_delta, or a monitor that is never logged.
    """

    order = 10

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "auto",
                 min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"EarlyStopping: patience must be an int >= 1, got {patience!r}")
        self.patience = patience
        self._monitor = _Monitor(monitor, mode, min_delta)
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self._monitor.update(logs):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(logs["epoch"])
            trainer.stop_training = True

    def state_dict(self) -> dict[str, Any]:
        return {**self._monitor.state_dict(), "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._monitor.load_state_dict(state)
        self.wait, self.stopped_epoch = state.get("wait", 0), state.get("stopped_epoch")
