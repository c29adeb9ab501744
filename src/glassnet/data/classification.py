"""Classification data sets ready to train on: the splits and input scaling that ``glassnet train`` uses.

Each entry of :data:`CLASSIFICATION` names a loader of the catalog
(:func:`glassnet.data.datasets.available` lists the same sets), how its
inputs are scaled, and the training settings measured to reach the README's
accuracies. :func:`load_classification` returns the scaled, stratified splits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.errors import ConfigError

__all__ = ["Scaling", "ClassificationSet", "CLASSIFICATION", "SPLIT_SEED", "load_classification", "find_prefix"]

SPLIT_SEED = 0  # the seed of every test/validation split: every run of a data set sees the same test set


@dataclass(frozen=True)
class Scaling:
    """How inputs are scaled: ``x / divisor`` (pixel intensities to [0, 1]), or standardised per feature.

    Attributes:
        divisor: the constant inputs are divided by (16 for the 4-bit digits, 255 for 8-bit images);
            None to standardise with the training split's mean and standard deviation instead.
    """

    divisor: float | None = None

    def fit(self, x_train: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """The scaling function (float32 out), its statistics taken from ``x_train`` only."""
        if self.divisor is not None:
            c = np.float32(self.divisor)
            return lambda a: (a.astype(np.float32) / c).astype(np.float32)
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant feature stays 0 instead of dividing by 0
        return lambda a: ((a - mean) / std).astype(np.float32)

    def describe(self) -> str:
        return f"inputs / {self.divisor:g}" if self.divisor is not None else "standardised"


@dataclass(frozen=True)
class ClassificationSet:
    """One data set of :data:`CLASSIFICATION`.

    Attributes:
        description: one line for ``glassnet train --help``.
        load: ``load(data_dir) -> (x (N, D), y (N,))``, raw inputs flattened to one row per sample.
        scaling: the :class:`Scaling` of its inputs.
        defaults: ``glassnet train`` option defaults measured to reach the README's accuracies.
    """

    description: str
    load: Callable[[str | None], tuple[np.ndarray, np.ndarray]]
    scaling: Scaling
    defaults: dict[str, Any] = field(default_factory=dict)


def find_prefix(data_dir: str | None, subdir: str, candidates: tuple[str, ...], suffix: str) -> str:
    """The first candidate whose file exists in the data home (``data_dir``, else ``$GLASSNET_DATA`` or the
    cache) or its ``subdir`` (else the first candidate, the official name, which is downloaded)."""
    from glassnet.data.download import data_home

    home = data_home(data_dir)
    for c in candidates:
        if any((home / d / f"{c}{suffix}").is_file() for d in ("", subdir)):
            return c
    return candidates[0]


def _load_mnist(data_dir: str | None):
    from glassnet.data.datasets import load_mnist

    prefix = find_prefix(data_dir, "mnist", ("train", "mnist8k"), "-images-idx3-ubyte.gz")
    x, y = load_mnist(data_dir, prefix=prefix, download=data_dir is None)
    return x.reshape(len(x), -1), y  # (N, 28, 28) -> (N, 784)


def _load_cifar10(data_dir: str | None):
    from glassnet.data.datasets import load_cifar10

    batch = find_prefix(data_dir, "cifar10", ("data_batch_1", "cifar10_8k_batch"), "")
    x, y = load_cifar10(data_dir, batch=batch, download=data_dir is None)
    return x.reshape(len(x), -1), y  # (N, 3, 32, 32) -> (N, 3072)


def _embedded(name: str):
    def load(data_dir: str | None):
        from glassnet.data import datasets

        return getattr(datasets, f"load_{name}")()

    return load


_IMAGES = {"epochs": 30, "batch_size": 64, "hidden": "512,256", "dropout": 0.2, "schedule": "cosine"}

CLASSIFICATION: dict[str, ClassificationSet] = {
    "digits": ClassificationSet("UCI 8x8 handwritten digits, 1797 images, 10 classes (embedded; inputs / 16)",
                                _embedded("digits"), Scaling(16.0), {"epochs": 30, "batch_size": 64}),
    "iris": ClassificationSet("Fisher's iris, 150 flowers, 4 features, 3 classes (embedded; standardised)",
                              _embedded("iris"), Scaling(None), {"epochs": 200, "batch_size": 16}),
    "mnist": ClassificationSet("MNIST 28x28 digits, 10 classes (--data-dir with train-* or mnist8k-* IDX files; "
                               "inputs / 255)", _load_mnist, Scaling(255.0), dict(_IMAGES)),
    "cifar10": ClassificationSet("CIFAR-10 32x32 colour images, 10 classes (--data-dir with python batches; "
                                 "inputs / 255)", _load_cifar10, Scaling(255.0), dict(_IMAGES)),
}


def load_classification(name: str, data_dir: str | None = None, val_fraction: float = 0.1,
                        test_fraction: float = 0.2) -> dict[str, np.ndarray]:
    """The scaled splits of a data set: ``x_train, y_train, x_val, y_val, x_test, y_test``.

    The test split (``test_fraction``) is held out first, then the validation
    split (``val_fraction`` of the rest), both stratified by class with
    scikit-learn's ``train_test_split(random_state=SPLIT_SEED)``. Inputs are
    float32 ``(N, D)``, scaled as the set's :class:`Scaling` says (statistics
    from the training split only); labels int64 ``(N,)``.

    Raises:
        ConfigError: an unknown data set or a fraction outside (0, 1).
        DataError: missing or corrupt data files (from the loaders).
    """
    from sklearn.model_selection import train_test_split

    if name not in CLASSIFICATION:
        raise ConfigError(f"--data must be one of {sorted(CLASSIFICATION)}, got {name!r}")
    for label, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            raise ConfigError(f"{label} must be in (0, 1), got {f!r}")
    spec = CLASSIFICATION[name]
    x, y = spec.load(data_dir)
    try:
        x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=test_fraction, stratify=y,
                                                          random_state=SPLIT_SEED)
        x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=val_fraction,
                                                          stratify=y_rest, random_state=SPLIT_SEED)
    except ValueError as e:  # a split too small to hold every class once
        raise ConfigError(f"{name}: val_fraction {val_fraction} and test_fraction {test_fraction} leave a split "
                          f"too small for its {len(set(y.tolist()))} classes ({e})") from None
    scale = spec.scaling.fit(x_train)
    return {"x_train": scale(x_train), "y_train": y_train.astype(np.int64), "x_val": scale(x_val),
            "y_val": y_val.astype(np.int64), "x_test": scale(x_test), "y_test": y_test.astype(np.int64)}
