"""Training: the fit loop, metrics, callbacks, history, checkpoints, and a Keras-style front end.

* :func:`train_step` — the one training step (forward, loss, checks, backward, clip, update).
* :class:`Trainer` — epochs of mini-batch steps with validation, a tqdm bar,
  callbacks, a stop on a non-finite loss or gradient, and exact resume.
* :class:`ModelCheckpoint`, :class:`EarlyStopping`, :class:`ProgressBar` — callbacks.
* :func:`save_checkpoint` / :func:`load_checkpoint` — the ``.npz`` + JSON file format.
* :class:`SequentialModel` / :class:`Model` — ``compile``, ``fit``, ``evaluate``, ``predict``.
* :mod:`~glassnet.train.ensemble` — K-fold splits, bagging, voting, stacking, snapshot ensembles, disagreement.
"""

from glassnet.train.callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar
from glassnet.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from glassnet.train.ensemble import (
    Stacking,
    bootstrap_indices,
    check_weights,
    disagreement_matrix,
    disagreement_rate,
    error_rate,
    hard_vote,
    kfold_splits,
    member_probabilities,
    out_of_fold_probabilities,
    snapshot_ensemble,
    soft_vote,
    weighted_average,
)
from glassnet.train.history import History
from glassnet.train.keras import OPTIMIZERS, Model, SequentialModel, make_optimizer
from glassnet.train.metrics import LOSSES, METRICS, accuracy, get_loss, get_metric
from glassnet.train.serialization import load, load_metadata, save
from glassnet.train.step import StepResult, check_finite, train_step
from glassnet.train.trainer import Trainer, model_generators

__all__ = [
    "Trainer", "History", "model_generators", "train_step", "StepResult", "check_finite",
    "save", "load", "load_metadata",
    "Callback", "ProgressBar", "ModelCheckpoint", "EarlyStopping",
    "Checkpoint", "save_checkpoint", "load_checkpoint",
    "Model", "SequentialModel", "OPTIMIZERS", "make_optimizer",
    "LOSSES", "METRICS", "accuracy", "get_loss", "get_metric",
    "kfold_splits", "bootstrap_indices", "hard_vote", "soft_vote", "weighted_average", "check_weights",
    "member_probabilities", "out_of_fold_probabilities", "Stacking", "snapshot_ensemble",
    "disagreement_rate", "disagreement_matrix", "error_rate",
]
