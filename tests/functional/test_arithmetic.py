import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from tests.helpers import Case, run_case


def pos(rng, *shape):
    return rng.uniform(0.5, 2.0, size=shape)


CASES = [
    Case("add", F.add, lambda r: [r.standard_normal((3, 4)), r.standard_normal((4,))], np.add, lambda a, b: a + b),
    Case("add_keepdim", F.add, lambda r: [r.standard_normal((3, 1)), r.standard_normal((1, 5))], np.add,
         lambda a, b: a + b),
    Case("sub", F.sub, lambda r: [r.standard_normal((2, 3)), r.standard_normal((2, 1))], np.subtract,
         lambda a, b: a - b),
    Case("mul", F.mul, lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((3, 1))], np.multiply,
         lambda a, b: a * b),
    Case("div", F.div, lambda r: [r.standard_normal((3, 4)), pos(r, 3, 4)], np.divide, lambda a, b: a / b),
    Case("div_bcast", F.div, lambda r: [r.standard_normal((3, 4)), pos(r, 4)], np.divide, lambda a, b: a / b),
    Case("neg", F.neg, lambda r: [r.standard_normal((3, 4))], np.negative, lambda a: -a),
    Case("pow3", lambda x: F.pow(x, 3), lambda r: [r.standard_normal((3, 4))], lambda x: x**3, lambda x: x**3),
    Case("pow_half", lambda x: F.pow(x, 0.5), lambda r: [pos(r, 5)], np.sqrt, lambda x: x**0.5),
    Case("exp", F.exp, lambda r: [r.standard_normal((3, 4))], np.exp, lambda x: x.exp()),
    Case("log", F.log, lambda r: [pos(r, 3, 4)], np.log, lambda x: x.log()),
    Case("sqrt", F.sqrt, lambda r: [pos(r, 3, 4)], np.sqrt, lambda x: x.sqrt()),
    # size-1 and size-0 dimensions
    Case("add_size1", F.add, lambda r: [r.standard_normal((1, 1)), r.standard_normal((1,))], np.add,
         lambda a, b: a + b),
    Case("mul_size0", F.mul, lambda r: [r.standard_normal((0, 3)), r.standard_normal((3,))], np.multiply,
         lambda a, b: a * b),
    Case("exp_size0", F.exp, lambda r: [r.standard_normal((2, 0))], np.exp, lambda x: x.exp()),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_operators_match_functions():
    rng = np.random.default_rng(0)
    a = gn.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = gn.Tensor(rng.uniform(1, 2, (2, 3)), requires_grad=True)
    y = (a + b) * a - b / a + (-a) ** 2 + 1.0 - 2.0 * a / 3.0 + 1.0 / b
    expected = (a.data + b.data) * a.data - b.data / a.data + a.data**2 + 1 - 2 * a.data / 3 + 1 / b.data
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


def test_scalar_keeps_float32():
    x = gn.Tensor(np.ones(3, dtype=np.float32))
    assert (x * 2.5).dtype == np.float32
    assert (1.0 - x).dtype == np.float32


def test_value_used_twice_gets_summed_gradient():
    x = gn.Tensor(np.array([3.0]), requires_grad=True)
    y = x * x  # dy/dx = 2x
    y.backward()
    assert x.grad[0] == 6.0


def test_broadcast_input_gradient_has_input_shape():
    rng = np.random.default_rng(1)
    a = gn.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = gn.Tensor(rng.standard_normal((3,)), requires_grad=True)
    g = rng.standard_normal((4, 3))
    (a * b).backward(g)
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad, (g * a.data).sum(0), rtol=1e-12)


def test_bad_shapes_raise_readable_error():
    with pytest.raises(ShapeError, match=r"add: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        F.add(np.ones((3, 4)), np.ones(5))


def test_mixed_dtypes_raise():
    with pytest.raises(DTypeError, match="mix float dtypes"):
        F.mul(np.ones(3, np.float32), np.ones(3, np.float64))


def test_pow_rejects_tensor_exponent():
    with pytest.raises(ConfigError, match="exponent c must be a Python number"):
        F.pow(np.ones(3), gn.Tensor(np.ones(3)))
