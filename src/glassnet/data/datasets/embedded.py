"""Small data sets that ship inside scikit-learn: no download, no network.

Split them with scikit-learn's ``train_test_split(..., stratify=y, random_state=seed)``.
"""

from __future__ import annotations

import numpy as np

from glassnet.data.datasets.catalog import register

__all__ = ["load_iris", "load_digits"]


@register("iris", "Fisher's iris: 150 flowers, 4 measurements, 3 species (embedded in scikit-learn)")
def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers (R. A. Fisher 1936, UCI), as shipped with scikit-learn.

    Shapes: x ``(150, 4)`` float32 — sepal length, sepal width, petal length, petal width in cm, unscaled;
    y ``(150,)`` int64 in {0, 1, 2} (setosa, versicolor, virginica), 50 per class, sorted by class.
    Licence: CC BY 4.0 (UCI). Raises nothing (the data is embedded).
    """
    from sklearn.datasets import load_iris as sk_load_iris  # deferred: sklearn import is slow

    bunch = sk_load_iris()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


@register("digits", "UCI optical handwritten digits: 1797 images of 8x8 pixels, 10 classes (embedded in scikit-learn)")
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """UCI optical recognition of handwritten digits (Alpaydin & Kaynak 1998), as shipped with scikit-learn.

    Shapes: x ``(1797, 64)`` float32 — an 8x8 image flattened row-major, each pixel a count in [0, 16]
    (unscaled; reshape to ``(N, 1, 8, 8)`` for a conv net); y ``(1797,)`` int64 in [0, 9].
    Licence: CC BY 4.0 (UCI). Raises nothing (the data is embedded).
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)
