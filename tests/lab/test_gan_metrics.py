"""Fréchet distance / FID against closed forms and an independent computation; class histogram and KL."""

import numpy as np
import pytest

from glassnet.errors import ShapeError
from glassnet.lab.generative.gan_metrics import class_histogram, fid, frechet_distance, kl_to_uniform


def test_frechet_distance_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)  # = 7.25 + 4 + 1 = 12.25
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(12.25)
    assert frechet_distance(mu1, np.diag(s1), mu1, np.diag(s1)) == pytest.approx(0.0, abs=1e-12)


def test_frechet_distance_random_case_independently():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    c1, c2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    # independently: tr((Σ1 Σ2)^½) = tr((Σ1^½ Σ2 Σ1^½)^½), symmetric square roots by eigendecomposition
    def sym_sqrt(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    r1 = sym_sqrt(c1)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2) - 2 * np.trace(sym_sqrt(r1 @ c2 @ r1))
    assert frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected, rel=1e-10)


def test_fid_of_features_and_errors():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 3))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9)
    shifted = fid(x, x + np.array([2.0, 0.0, 0.0]))
    assert shifted == pytest.approx(4.0, abs=1e-9)  # a shift moves only the means
    with pytest.raises(ShapeError, match="mu1 and mu2"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ShapeError, match="N >= 2"):
        fid(x[:1], x)


def test_class_histogram_and_kl_to_uniform():
    assert kl_to_uniform(class_histogram(np.arange(20) % 10)) == pytest.approx(0.0, abs=1e-15)
    h = class_histogram(np.full(7, 3))
    assert h[3] == 1.0 and h.sum() == 1.0
    assert kl_to_uniform(h) == pytest.approx(np.log(10), abs=1e-15)
    assert kl_to_uniform(np.array([0.5, 0.5, 0, 0])) == pytest.approx(np.log(2), abs=1e-15)
