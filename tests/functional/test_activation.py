import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from tests.helpers import Case, run_case, torch

tF = torch.nn.functional


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_softmax(x, axis=-1):
    return np.exp(np_log_softmax(x, axis))


def t_softmax(x):
    return torch.softmax(x, -1)


def away_from_zero(r, *shape):
    # keep |x| >= 0.1 so finite differences never straddle the kink of relu
    x = r.uniform(0.1, 2.0, size=shape)
    return x * r.choice([-1.0, 1.0], size=shape)


CASES = [
    Case("sigmoid", F.sigmoid, lambda r: [r.standard_normal((3, 4)) * 3], np_sigmoid, torch.sigmoid),
    Case("sigmoid_method", lambda x: x.sigmoid(), lambda r: [r.standard_normal((5,))], np_sigmoid, torch.sigmoid),
    Case("tanh", F.tanh, lambda r: [r.standard_normal((2, 3, 4))], np.tanh, torch.tanh),
    Case("tanh_method", lambda x: x.tanh(), lambda r: [r.standard_normal((4,))], np.tanh, torch.tanh),
    Case("relu", F.relu, lambda r: [away_from_zero(r, 3, 4)], lambda x: np.maximum(x, 0), torch.relu),
    Case("relu_method", lambda x: x.relu(), lambda r: [away_from_zero(r, 6)], lambda x: np.maximum(x, 0), torch.relu),
    Case(
        "leaky_relu",
        F.leaky_relu,
        lambda r: [away_from_zero(r, 3, 4)],
        lambda x: np.where(x > 0, x, 0.01 * x),
        tF.leaky_relu,
    ),
    Case(
        "leaky_relu_slope",
        lambda x: F.leaky_relu(x, slope=0.2),
        lambda r: [away_from_zero(r, 2, 5)],
        lambda x: np.where(x > 0, x, 0.2 * x),
        lambda x: tF.leaky_relu(x, negative_slope=0.2),
    ),
    Case("softmax", F.softmax, lambda r: [r.standard_normal((4, 5))], np_softmax, lambda x: torch.softmax(x, -1)),
    Case(
        "softmax_axis0",
        lambda x: F.softmax(x, axis=0),
        lambda r: [r.standard_normal((3, 4, 2))],
        lambda x: np_softmax(x, 0),
        lambda x: torch.softmax(x, 0),
    ),
    Case(
        "softmax_large_logits",
        F.softmax,
        lambda r: [r.standard_normal((3, 4)) + 500],
        np_softmax,
        lambda x: torch.softmax(x, -1),
    ),
    Case(
        "log_softmax",
        F.log_softmax,
        lambda r: [r.standard_normal((2, 3, 5))],
        np_log_softmax,
        lambda x: torch.log_softmax(x, -1),
    ),
    Case(
        "log_softmax_axis1",
        lambda x: F.log_softmax(x, axis=1),
        lambda r: [r.standard_normal((2, 3, 5))],
        lambda x: np_log_softmax(x, 1),
        lambda x: torch.log_softmax(x, 1),
    ),
    # size-1 and size-0 dimensions
    Case("sigmoid_size1", F.sigmoid, lambda r: [r.standard_normal((1, 1))], np_sigmoid, torch.sigmoid),
    Case("tanh_size0", F.tanh, lambda r: [r.standard_normal((0, 3))], np.tanh, torch.tanh),
    Case("relu_size0", F.relu, lambda r: [r.standard_normal((2, 0))], lambda x: np.maximum(x, 0), torch.relu),
    Case("softmax_one_class", F.softmax, lambda r: [r.standard_normal((3, 1))], np_softmax, t_softmax),
    Case("softmax_size0_batch", F.softmax, lambda r: [r.standard_normal((0, 4))], np_softmax, t_softmax),
    Case(
        "log_softmax_size1",
        F.log_softmax,
        lambda r: [r.standard_normal((1, 1))],
        np_log_softmax,
        lambda x: torch.log_softmax(x, -1),
    ),
    Case(
        "log_softmax_empty_class_axis",
        F.log_softmax,
        lambda r: [r.standard_normal((3, 0))],
        lambda x: x.copy(),
        lambda x: torch.log_softmax(x, -1),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_softmax_is_row_wise_on_a_batch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 7)) * 4
    y = F.softmax(x).data
    np.testing.assert_allclose(y.sum(axis=1), np.ones(6), rtol=0, atol=1e-15)
    for i in range(6):
        row = np.exp(x[i] - x[i].max())
        np.testing.assert_allclose(y[i], row / row.sum(), rtol=1e-14, atol=0)
        np.testing.assert_allclose(F.softmax(x[i]).data, y[i], rtol=1e-14, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_of_huge_logits_is_finite(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.log_softmax(np.array([1000.0, 0.0], dtype=dtype)).data
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, np.array([0.0, -1000.0], dtype=dtype))
        logits = np.linspace(-1e4, 1e4, 101)  # spread uniformly over [-1e4, 1e4]
        y = F.log_softmax(logits.astype(dtype)).data
    assert np.all(np.isfinite(y))
    # float64 reference by hand: the max is 1e4, the sum is 1 + e^-200 + ... ≈ 1
    expected = logits - 1e4 - np.log(np.exp(logits - 1e4).sum())
    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)
    assert y[-1] == 0.0 and y[0] == dtype(-2e4)
    # torch agrees
    np.testing.assert_allclose(y, torch.log_softmax(torch.tensor(logits.astype(dtype)), -1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_plus_minus_1000_is_exact_and_silent(dtype):
    x = gn.Tensor(np.array([-1000.0, 1000.0, -80.0, 0.0], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning would fail the test
        y = F.sigmoid(x)
        y.backward(np.ones(4, dtype=dtype))
    assert y.data[0] == 0.0 and y.data[1] == 1.0 and y.data[3] == 0.5
    # the left tail keeps its relative precision: σ(-80) = e^-80 / (1 + e^-80)
    np.testing.assert_allclose(y.data[2], np.exp(-80.0), rtol=1e-6)
    np.testing.assert_array_equal(x.grad[:2], [0.0, 0.0])


def test_softmax_of_minus_inf_logit_is_exactly_zero_with_zero_gradient():
    x = gn.Tensor(np.array([[1.0, -np.inf, 2.0]]), requires_grad=True)
    y = F.softmax(x)
    assert y.data[0, 1] == 0.0 and np.isclose(y.data.sum(), 1.0)
    y.backward(np.array([[0.3, -1.2, 0.7]]))
    assert np.all(np.isfinite(x.grad)) and x.grad[0, 1] == 0.0


def test_relu_and_leaky_relu_gradient_at_zero_match_torch():
    x = gn.Tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    F.relu(x).backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    x.grad = None
    F.leaky_relu(x, 0.1).backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.1, 0.1, 1.0])


def test_float32_stays_float32():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for fn in (F.sigmoid, F.tanh, F.relu, F.leaky_relu, F.softmax, F.log_softmax):
        assert fn(x).dtype == np.float32, fn.__name__


@pytest.mark.parametrize("fn", [F.sigmoid, F.tanh, F.relu, F.leaky_relu, F.softmax, F.log_softmax])
def test_integer_input_raises(fn):
    with pytest.raises(DTypeError, match=rf"{fn.__name__}: x must be a float array .* got dtype int64"):
        fn(np.arange(3))


def test_bad_axis_raises():
    with pytest.raises(ShapeError, match=r"softmax: axis must be in \[-2, 2\) for x of shape \(3, 4\), got 2"):
        F.softmax(np.ones((3, 4)), axis=2)
    with pytest.raises(ShapeError, match=r"log_softmax: axis must be in .* got -3"):
        F.log_softmax(np.ones((3, 4)), axis=-3)
    with pytest.raises(ConfigError, match="softmax: axis must be an int, got 1.0"):
        F.softmax(np.ones((3, 4)), axis=1.0)


def test_bad_slope_raises():
    with pytest.raises(ConfigError, match="leaky_relu: slope must be a finite number, got nan"):
        F.leaky_relu(np.ones(3), slope=float("nan"))
