"""greedy_next / sample_next: frequencies match softmax(z / τ), top-k stays in the top k, seeds reproduce."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.errors import ConfigError, DTypeError, NonFiniteError, ShapeError
from glassnet.text import greedy_next, sample_next

Z = np.array([2.0, 1.0, 0.5, -1.0, 0.0])  # (V,)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize("tau", [1.0, 0.5, 2.0])
def test_frequencies_match_softmax_over_temperature(tau):
    M = 200_000
    draws = sample_next(np.tile(Z, (M, 1)), temperature=tau, rng=0)  # (M,)
    freq = np.bincount(draws, minlength=5) / M
    # binomial standard error is at most sqrt(0.25 / M) ≈ 0.0011; 0.005 is > 4 of them
    np.testing.assert_allclose(freq, softmax(Z / tau), atol=0.005)


def test_top_k_renormalises_over_the_k_largest_and_never_leaves_them():
    M = 100_000
    draws = sample_next(np.tile(Z, (M, 1)), top_k=2, rng=1)
    assert set(np.unique(draws).tolist()) <= {0, 1}
    p = softmax(Z[:2])
    np.testing.assert_allclose(np.bincount(draws, minlength=2)[:2] / M, p, atol=0.005)
    rng = np.random.default_rng(2)
    z = rng.normal(size=(500, 50))
    top3 = np.argsort(-z, axis=1)[:, :3]
    picks = sample_next(z, temperature=3.0, top_k=3, rng=rng)
    assert all(p in row for p, row in zip(picks, top3))


def test_top_k_ties_keep_the_lowest_ids():
    z = np.zeros((2000, 4))
    assert set(sample_next(z, top_k=2, rng=0).tolist()) == {0, 1}
    assert (sample_next(z, top_k=1, rng=0) == 0).all()


def test_seeded_reproducible_and_dtype():
    z = np.random.default_rng(3).normal(size=(64, 30)).astype(np.float32)
    a, b = sample_next(z, rng=7), sample_next(z, rng=7)
    assert a.dtype == np.int64 and a.shape == (64,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample_next(z, rng=8))


def test_greedy_and_zero_temperature():
    z = np.array([[0.0, 3.0, 3.0], [1.0, -np.inf, 0.0]])
    np.testing.assert_array_equal(greedy_next(z), [1, 0])  # tie: lowest id
    np.testing.assert_array_equal(sample_next(z, temperature=0.0, rng=0), [1, 0])
    # a tiny τ does not overflow and is greedy on a clear maximum
    np.testing.assert_array_equal(sample_next(np.array([[0.0, 1.0, 0.5]]), temperature=1e-300, rng=0), [1])


def test_minus_inf_is_never_drawn():
    z = np.tile([0.0, -np.inf, 0.0], (5000, 1))
    assert 1 not in sample_next(z, rng=0)


@pytest.mark.parametrize("logits, kwargs, error, match", [
    (np.zeros(5), {}, ShapeError, r"\(N, V\)"),
    (np.zeros((2, 0)), {}, ShapeError, r"\(N, V\)"),
    (np.zeros((2, 3), np.int64), {}, DTypeError, "float"),
    (np.array([[0.0, np.nan]]), {}, NonFiniteError, "NaN"),
    (np.array([[0.0, np.inf]]), {}, NonFiniteError, r"\+inf"),
    (np.array([[0.0, 1.0], [-np.inf, -np.inf]]), {}, NonFiniteError, "row 1"),
    (np.zeros((2, 3)), {"temperature": -0.1}, ConfigError, "temperature"),
    (np.zeros((2, 3)), {"top_k": 4}, ConfigError, "top_k"),
    (np.zeros((2, 3)), {"top_k": 0}, ConfigError, "top_k"),
    (np.zeros((2, 3)), {"rng": 1.5}, ConfigError, "rng"),
])
def test_bad_inputs(logits, kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_next(logits, **kwargs)
    if not kwargs:
        with pytest.raises(error, match=match):
            greedy_next(logits)
