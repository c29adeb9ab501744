"""Weight initialisers: shapes, dtypes, empirical spread against the formula, determinism, bad input."""

import math

import numpy as np
import pytest

from glassnet.errors import ConfigError, ShapeError
from glassnet.nn import init

SHAPE = (400, 600)  # 240 000 draws: the sample std is within ~0.3% of the truth
FAN_IN, FAN_OUT = SHAPE

# name -> (call with rng, expected std, half-width of the support or None for a normal)
CASES = {
    "uniform": (lambda r: init.uniform(SHAPE, -0.3, 0.3, r), 0.3 / math.sqrt(3), 0.3),
    "normal": (lambda r: init.normal(SHAPE, 0.05, r), 0.05, None),
    "xavier_uniform": (lambda r: init.xavier_uniform(SHAPE, r), math.sqrt(2 / (FAN_IN + FAN_OUT)),
                       math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_uniform_gain": (lambda r: init.xavier_uniform(SHAPE, r, gain=5 / 3),
                            5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT)), 5 / 3 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_normal": (lambda r: init.xavier_normal(SHAPE, r), math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    "he_uniform": (lambda r: init.he_uniform(SHAPE, r), math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
    "he_normal": (lambda r: init.he_normal(SHAPE, r), math.sqrt(2 / FAN_IN), None),
    "linear_uniform": (lambda r: init.linear_uniform(SHAPE, FAN_IN, r), 1 / math.sqrt(3 * FAN_IN),
                       1 / math.sqrt(FAN_IN)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_empirical_std_matches_formula(name):
    make, std, bound = CASES[name]
    w = make(np.random.default_rng(0))
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.std() / std - 1) < 0.05
    assert abs(w.mean()) < 0.05 * std
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound  # the support is really that wide


@pytest.mark.parametrize("name", list(CASES))
def test_same_seed_same_numbers(name):
    make, _, _ = CASES[name]
    np.testing.assert_array_equal(make(7), make(7))
    np.testing.assert_array_equal(make(np.random.default_rng(7)), make(7))
    assert not np.array_equal(make(7), make(8))
    rng = np.random.default_rng(7)
    assert not np.array_equal(make(rng), make(rng))  # a Generator advances


def test_dtype_and_rounding():
    w64 = init.he_normal((3, 4), 1, dtype=np.float64)
    w32 = init.he_normal((3, 4), 1, dtype="float32")
    assert w64.dtype == np.float64 and w32.dtype == np.float32
    np.testing.assert_array_equal(w32, w64.astype(np.float32))  # the same draws in both dtypes
    z = init.zeros((2, 0, 3))
    assert z.shape == (2, 0, 3) and z.dtype == np.float32 and init.zeros(4, dtype=np.float64).dtype == np.float64
    assert init.normal((2, 2), 0.0, 0, mean=1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]


def test_fans():
    assert init.fans((3, 5)) == (3, 5)
    assert init.fans((8, 3, 5, 5)) == (75, 200)  # conv (C_out, C_in, kh, kw)
    w = init.he_normal((64, 32, 3, 3), 0)
    assert abs(w.std() / math.sqrt(2 / (32 * 9)) - 1) < 0.05


@pytest.mark.parametrize("call, error, message", [
    (lambda: init.zeros((2, -1)), ShapeError, r"zeros: shape must be a tuple of non-negative ints, got \(2, -1\)"),
    (lambda: init.zeros("ab"), ShapeError, "zeros: shape must be a tuple"),
    (lambda: init.zeros((2,), dtype=np.int32), ConfigError, "zeros: dtype must be float32 or float64"),
    (lambda: init.zeros((2,), dtype="gpu"), ConfigError, "zeros: dtype must be float32 or float64, got 'gpu'"),
    (lambda: init.uniform((2,), 1.0, -1.0, 0), ConfigError, "uniform: low must be <= high, got low=1.0, high=-1.0"),
    (lambda: init.uniform((2,), 0.0, np.inf, 0), ConfigError, "uniform: high must be a finite number"),
    (lambda: init.normal((2,), -1.0, 0), ConfigError, r"normal: std must be a number in \[0, inf\), got -1.0"),
    (lambda: init.normal((2,), 1.0, np.random.RandomState(0)), ConfigError,
     "normal: rng: expected a numpy.random.Generator, an int seed or None, got RandomState"),
    (lambda: init.normal((2,), 1.0, -3), ConfigError, "normal: rng: a seed must be >= 0, got -3"),
    (lambda: init.xavier_uniform((5,), 0), ShapeError, r"fans: a weight needs at least 2 dimensions, got shape \(5,\)"),
    (lambda: init.xavier_normal((2, 2), 0, gain=0), ConfigError, r"xavier_normal: gain must be a number in \(0, inf\)"),
    (lambda: init.linear_uniform((2, 2), 0, 0), ConfigError, "linear_uniform: fan_in must be an int >= 1, got 0"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
