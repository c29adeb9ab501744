import numpy as np
import pytest

from glassnet.data.datasets.generated import adding_problem, appears_later, appears_later_ceiling, binary_addition
from glassnet.errors import ConfigError


def _from_bits(bits: np.ndarray) -> np.ndarray:
    # (N, T) least significant bit first -> (N,) ints
    return (bits.astype(np.int64) << np.arange(bits.shape[1])).sum(axis=1)


def test_binary_addition_all_pairs_are_correct_sums():
    x, t, ab = binary_addition(bits=4)
    assert x.shape == (64, 4, 2) and x.dtype == np.float32
    assert t.shape == (64, 4) and t.dtype == np.int64
    a, b = _from_bits(x[..., 0]), _from_bits(x[..., 1])
    np.testing.assert_array_equal(a, ab[:, 0])
    np.testing.assert_array_equal(b, ab[:, 1])
    np.testing.assert_array_equal(_from_bits(t), a + b)
    assert len({(i, j) for i, j in ab}) == 64 and a.max() == 7 and (a + b).max() == 14


def test_binary_addition_sampling_is_seeded_and_distinct():
    x1, t1, ab1 = binary_addition(n=500, bits=8, rng=3)
    x2, _, ab2 = binary_addition(n=500, bits=8, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(ab1, ab2)
    np.testing.assert_array_equal(x1, x2)
    assert len({(i, j) for i, j in ab1}) == 500
    assert not np.array_equal(ab1, binary_addition(n=500, bits=8, rng=4)[2])
    np.testing.assert_array_equal(_from_bits(t1), ab1.sum(axis=1))


def test_adding_problem_marks_two_values_and_sums_them():
    x, y = adding_problem(200, 30, rng=0)
    assert x.shape == (200, 30, 2) and x.dtype == np.float32 and y.shape == (200,) and y.dtype == np.float32
    markers = x[..., 1]
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)
    np.testing.assert_array_equal(markers[:, :15].sum(axis=1), 1.0)  # one mark in each half
    np.testing.assert_allclose((x[..., 0] * markers).sum(axis=1), y, rtol=1e-6)
    assert 0.0 <= x[..., 0].min() and x[..., 0].max() < 1.0
    np.testing.assert_array_equal(adding_problem(200, 30, rng=0)[0], x)


def test_adding_problem_target_statistics():
    _, y = adding_problem(20000, 10, rng=1)
    assert abs(y.mean() - 1.0) < 0.01 and abs(y.var() - 1 / 6) < 0.005


def test_appears_later_labels_match_a_loop():
    x, y = appears_later(50, 12, 5, rng=2)
    assert x.shape == y.shape == (50, 12) and x.dtype == y.dtype == np.int64
    expected = np.array([[int(x[i, t] in x[i, t + 1:]) for t in range(12)] for i in range(50)])
    np.testing.assert_array_equal(y, expected)
    assert (y[:, -1] == 0).all() and x.min() >= 0 and x.max() < 5


def test_appears_later_ceiling_matches_the_best_positional_guess():
    T, K = 20, 8
    _, y = appears_later(40000, T, K, rng=5)
    rate = y.mean(axis=0)  # P(y_t = 1) per position
    empirical = np.maximum(rate, 1 - rate).mean()
    assert abs(appears_later_ceiling(T, K) - empirical) < 0.005
    assert appears_later_ceiling(1, 2) == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: binary_addition(bits=0), r"binary_addition: bits must be an int >= 1, got 0"),
        (lambda: binary_addition(bits=21), r"bits must be <= 20, got 21"),
        (lambda: binary_addition(n=17, bits=3), r"n must be <= 16 distinct pairs for bits=3, got 17"),
        (lambda: adding_problem(10, 1), r"adding_problem: T must be an int >= 2, got 1"),
        (lambda: adding_problem(0, 5), r"adding_problem: n must be an int >= 1, got 0"),
        (lambda: adding_problem(5, 5, rng="seed"), r"rng: expected a numpy.random.Generator, an int seed or None"),
        (lambda: appears_later(4, 5, 1), r"appears_later: K must be an int >= 2, got 1"),
        (lambda: appears_later_ceiling(0, 3), r"appears_later_ceiling: T must be an int >= 1, got 0"),
    ],
)
def test_bad_input_raises_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
