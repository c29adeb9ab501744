"""What the image experiments share (CNN, generative, ensembles): image splits as ``(N, C, H, W)``, one training
loop, accuracy, the LeNet and the MLP baselines.

Not an experiment (the registry finds none here); every training step goes
through :func:`glassnet.train.train_step`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet import no_grad
from glassnet.data.classification import load_classification
from glassnet.optim import SGD, Adam
from glassnet.train.step import train_step
from glassnet.zoo import MLP

__all__ = ["IMAGE_SHAPES", "TrainingConfig", "load_images", "evaluate", "accuracy", "train_classifier", "lenet",
           "ImageMLP"]

IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32), "digits": (1, 8, 8)}


def load_images(name: str, data_dir: Any, n_train: int = 0, n_test: int = 0) -> dict[str, np.ndarray]:
    """``load_classification``'s splits reshaped to images: ``x_* (N, C, H, W)`` float32 in [0, 1], ``y_*`` int64.

    ``n_train`` / ``n_test`` > 0 keep only the first ones (the splits are already shuffled and stratified).

    Raises:
        DataError: the data set's files are missing (the experiment is then inconclusive).
    """
    splits = load_classification(name, data_dir)
    shape = IMAGE_SHAPES[name]
    out = {}
    for part in ("train", "val", "test"):
        x, y = splits[f"x_{part}"], splits[f"y_{part}"]
        keep = {"train": n_train, "test": n_test}.get(part, 0)
        if keep:
            x, y = x[:keep], y[:keep]
        out[f"x_{part}"], out[f"y_{part}"] = x.reshape((len(x),) + shape), y
    return out


def _batches(n: int, batch_size: int):
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> tuple[float, float]:
    """``(accuracy, mean softmax cross-entropy in nats)`` of the model on ``x``, in evaluation mode, no graph."""
    was = model.training
    model.eval()
    right, total = 0, 0.0
    with no_grad():
        for lo, hi in _batches(len(x), batch_size):
            logits = model(x[lo:hi])
            right += int((logits.data.argmax(axis=1) == y[lo:hi]).sum())
            total += float(F.softmax_cross_entropy(logits, y[lo:hi]).item()) * (hi - lo)
    model.train(was)
    n = max(len(x), 1)
    return right / n, total / n


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    """Share of ``x`` the model classifies right (see :func:`evaluate`)."""
    return evaluate(model, x, y, batch_size)[0]


@dataclass
class TrainingConfig:
    """The fields every CNN experiment's config shares (an experiment's ``Config`` extends it)."""

    epochs: int = field(default=6, metadata={"help": "training epochs of each network"})
    batch_size: int = field(default=64, metadata={"help": "images per step"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    n_train: int = field(default=0, metadata={"help": "training images used (0: all)"})
    n_test: int = field(default=0, metadata={"help": "test images used (0: all)"})


def train_classifier(model, data: dict[str, np.ndarray], *, epochs: int, batch_size: int, lr: float, rng,
                     progress, desc: str, optimizer: str = "adam", momentum: float = 0.9,
                     weight_decay: float = 0.0, train_eval: int = 2000, max_norm: float | None = None,
                     evaluate_every: int = 1) -> list[dict]:
    """Mini-batch training with softmax cross-entropy; one record per evaluated epoch.

    Each record: ``epoch``, ``train_loss`` (mean of the epoch's batch losses, training mode),
    ``train_accuracy`` and ``train_eval_loss`` (evaluation mode, on the first ``train_eval`` training
    images), ``test_accuracy``. Epochs are evaluated every ``evaluate_every`` and at the last one
    (quick runs evaluate only the last). ``rng`` shuffles the batches.
    """
    params = list(model.parameters())
    opt = (Adam(params, lr=lr, weight_decay=weight_decay) if optimizer == "adam"
           else SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay))
    x, y = data["x_train"], data["y_train"]
    history, step = [], 0
    bar = progress(total=epochs * len(_batches(len(x), batch_size)), desc=desc)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        losses = []
        model.train()
        for lo, hi in _batches(len(x), batch_size):
            idx = order[lo:hi]
            step += 1
            xb, yb = x[idx], y[idx]
            losses.append(train_step(opt, lambda: F.softmax_cross_entropy(model(xb), yb), max_norm=max_norm,
                                     where=f"{desc} epoch {epoch}, step {step}", model=model).loss)
            bar.update(1)
        if epoch % evaluate_every and epoch != epochs:
            continue
        train_acc, train_eval_loss = evaluate(model, x[:train_eval], y[:train_eval])
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "train_accuracy": train_acc,
                        "train_eval_loss": train_eval_loss,
                        "test_accuracy": accuracy(model, data["x_test"], data["y_test"])})
    bar.close()
    return history


def lenet(in_channels: int, image: int, rng, width: tuple[int, int, int] = (20, 50, 500), num_classes: int = 10):
    """The course's small CNN (Caffe's LeNet): conv5 -> ReLU -> pool2 -> conv5 -> ReLU -> pool2 -> FC -> ReLU -> FC.

    Shapes: ``x (N, in_channels, image, image)`` -> logits ``(N, num_classes)``.
    """
    from glassnet import nn

    c1, c2, hidden = width
    side = ((image - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * side * side, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, num_classes, rng=rng),
    )


class ImageMLP(MLP):
    """An MLP on images: ``(N, C, H, W)`` flattened to ``(N, C·H·W)`` first (the dense baseline of a CNN)."""

    def forward(self, x):
        return super().forward(F.flatten(x, start_axis=1))
