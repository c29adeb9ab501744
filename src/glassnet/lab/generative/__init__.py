"""Latent variables and generation: autoencoders against PCA, the variational autoencoder.

Besides ``TOPIC``, what the experiments here share: flat MNIST splits and one
mini-batch training loop whose every step goes through :func:`glassnet.train.step.train_step`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TOPIC", "load_flat_mnist", "fit"]

TOPIC = "Latent variables and generation"


def load_flat_mnist(data_dir: Any, n_train: int = 0, n_test: int = 0) -> dict[str, np.ndarray]:
    """The shared MNIST splits as ``x_* (N, 784)`` float32 in [0, 1] and ``y_*`` int64."""
    from glassnet.lab.images import load_images

    data = load_images("mnist", data_dir, n_train, n_test)
    return {k: (v.reshape(len(v), -1) if k.startswith("x_") else v) for k, v in data.items()}


def fit(model, x: np.ndarray, *, epochs: int, batch_size: int, lr: float, rng, progress, desc: str,
        lr_end: float | None = None) -> list[float]:
    """Adam on ``model.loss(batch, rng)``; returns the mean training loss of each epoch.

    ``lr_end``: if given, the learning rate falls geometrically from ``lr`` (first epoch) to ``lr_end`` (last).
    """
    from glassnet.optim import Adam
    from glassnet.train.step import train_step

    opt = Adam(list(model.parameters()), lr=lr)
    n_batches = (len(x) + batch_size - 1) // batch_size
    bar = progress(total=epochs * n_batches, desc=desc)
    curve = []
    for epoch in range(1, epochs + 1):
        if lr_end is not None:
            opt.lr = lr * (lr_end / lr) ** ((epoch - 1) / max(epochs - 1, 1))
        order = rng.permutation(len(x))
        losses = []
        for lo in range(0, len(x), batch_size):
            xb = x[order[lo:lo + batch_size]]
            losses.append(train_step(opt, lambda: model.loss(xb, rng), where=f"{desc} epoch {epoch}",
                                     model=model).loss)
            bar.update(1)
        curve.append(float(np.mean(losses)))
    bar.close()
    return curve
