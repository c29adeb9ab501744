"""Judging generated digits without outside networks: the Fréchet distance of classifier features, mode coverage.

* :func:`frechet_distance` of two Gaussians and :func:`fid` of two feature sets (Heusel et al. 2017's
  FID, with the penultimate layer of a small MNIST classifier of our own in place of Inception-v3:
  numbers are comparable within this lab, not with published FIDs).
* :func:`train_feature_classifier` (the course's LeNet) and :func:`classifier_features`.
* :func:`class_histogram` of the digits the classifier sees in generated images and its
  :func:`kl_to_uniform`: 0 when every digit is generated equally often, ``log 10`` when one digit only
  (mode collapse).

Not an experiment (the registry finds none here); the ``dcgan`` experiment uses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import no_grad
from glassnet.errors import ShapeError

__all__ = ["frechet_distance", "gaussian_stats", "fid", "train_feature_classifier", "classifier_features",
           "class_histogram", "kl_to_uniform"]


def frechet_distance(mu1: Any, cov1: Any, mu2: Any, cov2: Any) -> float:
    """Fréchet (2-Wasserstein) distance² between ``N(μ1, Σ1)`` and ``N(μ2, Σ2)``.

    Formula::

        d² = ||μ1 - μ2||² + tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2})

    ``(Σ1 Σ2)^{1/2}`` by :func:`scipy.linalg.sqrtm`. Its eigenvalues are real and >= 0 in exact
    arithmetic (``Σ1 Σ2`` is similar to the PSD ``Σ1^{1/2} Σ2 Σ1^{1/2}``), but rounding gives it a tiny
    imaginary part: that part is dropped (the real part is kept), as Heusel et al.'s reference code does.
    Where sqrtm fails on a singular product (non-finite result) ``ε = 1e-6`` is added to both diagonals.

    Shapes: ``mu* (D,)``, ``cov* (D, D)`` -> a float. dtype: computed in float64.

    Raises:
        ShapeError: means not of one length D, or covariances not ``(D, D)``.

    Reference: Fréchet 1957; Dowson & Landau 1982 (the closed form for Gaussians); Heusel et al. 2017.
    """
    from scipy import linalg

    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise ShapeError(f"frechet_distance: mu1 and mu2 must be (D,) of one length, got {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    for name, c in (("cov1", cov1), ("cov2", cov2)):
        if c.shape != (d, d):
            raise ShapeError(f"frechet_distance: {name} must be (D, D) with D == {d}, got {c.shape}")
    root = linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(root).all():  # a singular product: regularise (Heusel et al.'s code does the same)
        eps = 1e-6 * np.eye(d)
        root = linalg.sqrtm((cov1 + eps) @ (cov2 + eps))
    root = np.real(root)  # rounding's imaginary part, see the docstring
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(root))


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (float64) of ``features (N, D)``, ``N >= 2``.

    Raises:
        ShapeError: ``features`` not 2-D with at least two rows.
    """
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ShapeError(f"gaussian_stats: features must be (N, D) with N >= 2, got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def fid(features_real: Any, features_fake: Any) -> float:
    """Fréchet Inception-style distance of two feature sets: :func:`frechet_distance` of their Gaussian fits.

    Shapes: ``features_real (N, D)``, ``features_fake (M, D)`` -> a float (lower: closer distributions).
    FID is biased upward for small N, M; compare values taken with the same sample sizes.

    Raises:
        ShapeError: not 2-D, fewer than two rows, or different D.

    Reference: Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a local
    Nash equilibrium". Deviation: features of our MNIST LeNet instead of Inception-v3's pool3.
    """
    mu1, cov1 = gaussian_stats(features_real)
    mu2, cov2 = gaussian_stats(features_fake)
    return frechet_distance(mu1, cov1, mu2, cov2)


def train_feature_classifier(x: np.ndarray, y: np.ndarray, *, rng, progress, epochs: int = 3,
                             batch_size: int = 64, lr: float = 1e-3, width: tuple[int, int, int] = (20, 50, 128)):
    """The course's LeNet trained on ``x (N, 1, 28, 28)`` in [0, 1] with labels ``y (N,)`` (Adam, softmax CE).

    Its penultimate layer (``width[2]`` ReLU units) gives the FID features. Returns the model (eval mode).
    """
    from glassnet.lab.images import lenet, train_classifier

    model = lenet(1, 28, rng, width=width)
    data = {"x_train": x, "y_train": y, "x_test": x[:500], "y_test": y[:500]}
    train_classifier(model, data, epochs=epochs, batch_size=batch_size, lr=lr, rng=rng, progress=progress,
                     desc="feature classifier", train_eval=500)
    return model.eval()


def classifier_features(model, x: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, H), predicted class (N,))`` of images ``x (N, 1, 28, 28)`` in [0, 1], no graph.

    ``features`` are the penultimate layer's activations (every layer of the Sequential but the last).
    """
    body, head = model[:-1], model[-1]
    feats, preds = [], []
    with no_grad():
        for lo in range(0, len(x), batch_size):
            h = body(x[lo:lo + batch_size])  # (N, H)
            feats.append(h.data)
            preds.append(head(h).data.argmax(axis=1))
    return np.concatenate(feats).astype(np.float64), np.concatenate(preds)


def class_histogram(predictions: Any, num_classes: int = 10) -> np.ndarray:
    """Share of each class among ``predictions (N,)`` (ints in ``[0, K)``): ``(K,)`` summing to 1."""
    p = np.bincount(np.asarray(predictions, np.int64), minlength=num_classes).astype(np.float64)
    return p / max(p.sum(), 1.0)


def kl_to_uniform(histogram: Any) -> float:
    """``KL(p || U) = Σ_k p_k log(K p_k)`` in nats (``0 log 0 = 0``): 0 for uniform, ``log K`` for one class.

    Raises:
        ShapeError: ``histogram`` not 1-D.
    """
    p = np.asarray(histogram, np.float64)
    if p.ndim != 1:
        raise ShapeError(f"kl_to_uniform: histogram must be (K,), got {p.shape}")
    nz = p > 0
    return float(np.sum(p[nz] * np.log(len(p) * p[nz])))
