"""What the recurrent-network experiments share: the recurrent layer by name and the adding-problem model.

Private to the lab (the registry skips modules whose name starts with ``_``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.data.datasets.generated import adding_problem
from glassnet.errors import ConfigError, NonFiniteError
from glassnet.train.step import train_step

TOPIC = "Recurrent networks"

# Var(u_i + u_j) for two independent U(0, 1) values: the MSE of always answering the mean, 1.
ADDING_TARGET_VAR = 1.0 / 6.0


def recurrent_layer(cell: str, input_size: int, hidden_size: int, rng: Any = None, **kwargs: Any):
    """``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` by name, with the same arguments.

    Raises:
        ConfigError: for an unknown cell name.
    """
    layers = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    if cell not in layers:
        raise ConfigError(f"cell must be one of {', '.join(layers)}, got {cell!r}")
    return layers[cell](input_size, hidden_size, rng=rng, **kwargs)


class AddingModel(nn.Module):
    """A recurrent layer read out once at the end: ``y = h_T W + b``, for the adding problem.

    Shapes: ``x (N, T, 2)`` -> ``y (N,)``. ``kwargs`` go to the layer (``nonlinearity``, ``record_grad``).
    """

    def __init__(self, cell: str, hidden: int, rng: Any, **kwargs: Any):
        super().__init__()
        self.rec = recurrent_layer(cell, 2, hidden, rng=rng, **kwargs)
        self.head = nn.Linear(hidden, 1, rng=rng)

    def forward(self, x):
        hs, _ = self.rec(x)  # (N, T, H)
        y = self.head(F.getitem(hs, (slice(None), -1)))  # (N, 1)
        return F.reshape(y, (y.shape[0],))  # (N,)


def mse_on(model, x, y) -> float:
    """The model's mean squared error on ``(x, y)``, without recording a graph."""
    with no_grad():
        return float(np.mean((model(x).data.astype(np.float64) - y) ** 2))


@dataclass
class TrainLog:
    """What :func:`train_adding` did: validation curve, steps run, first step below the target, divergence."""

    curve: list = field(default_factory=list)  # (step, validation MSE)
    steps: int = 0
    solved_at: int | None = None
    diverged: str | None = None
    diverged_at: int | None = None


def train_adding(model, optimizer, T: int, *, steps: int, batch_size: int, max_norm: float | None, data_rng,
                 val: tuple, eval_every: int, stop_below: float | None = None, progress=None) -> TrainLog:
    """Train ``model`` on fresh adding-problem batches of length ``T``; stop early once validation MSE < ``stop_below``.

    ``max_norm`` None trains without clipping. A non-finite loss or gradient norm stops training: the
    NonFiniteError's message goes to ``TrainLog.diverged``.
    """
    log = TrainLog()
    steps_iter = range(1, steps + 1) if progress is None else progress(range(1, steps + 1))
    for step in steps_iter:
        x, y = adding_problem(batch_size, T, rng=data_rng)
        try:
            # overflow is the event an exploding run is checked for (below, by value): no RuntimeWarning spam
            with np.errstate(over="ignore", invalid="ignore"):
                train_step(optimizer, lambda: F.mean_squared_error(model(x), y), max_norm=max_norm, where=step,
                           model=model)
        except NonFiniteError as err:
            log.diverged, log.diverged_at = str(err), step
            break
        log.steps = step
        if step % eval_every == 0 or step == steps:
            mse = mse_on(model, *val)
            log.curve.append((step, mse))
            if stop_below is not None and mse < stop_below:
                log.solved_at = step
                break
    return log

