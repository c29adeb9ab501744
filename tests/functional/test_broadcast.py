import numpy as np
import pytest

import glassnet.functional as F
from glassnet.errors import ShapeError
from tests.helpers import Case, run_case

CASES = [
    Case("broadcast_to_lead", lambda x: F.broadcast_to(x, (2, 3, 4)), lambda r: [r.standard_normal((3, 4))],
         lambda x: np.broadcast_to(x, (2, 3, 4)), lambda x: x.expand(2, 3, 4)),
    Case("broadcast_to_size1", lambda x: F.broadcast_to(x, (3, 5)), lambda r: [r.standard_normal((3, 1))],
         lambda x: np.broadcast_to(x, (3, 5)), lambda x: x.expand(3, 5)),
    Case("broadcast_to_size0", lambda x: F.broadcast_to(x, (0, 4)), lambda r: [r.standard_normal((1, 4))],
         lambda x: np.broadcast_to(x, (0, 4)), lambda x: x.expand(0, 4)),
    Case("sum_to_lead", lambda x: F.sum_to(x, (4,)), lambda r: [r.standard_normal((2, 3, 4))],
         lambda x: x.sum(axis=(0, 1)), lambda x: x.sum_to_size(4)),
    Case("sum_to_keepdim", lambda x: F.sum_to(x, (3, 1)), lambda r: [r.standard_normal((3, 5))],
         lambda x: x.sum(axis=1, keepdims=True), lambda x: x.sum_to_size(3, 1)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


@pytest.mark.parametrize(
    "grad_shape, shape",
    [((2, 3, 4), (3, 4)), ((2, 3, 4), (1, 4)), ((2, 3, 4), (3, 1)), ((5,), ()), ((3, 4), (3, 4)), ((0, 4), (1, 4))],
)
def test_unbroadcast_is_the_adjoint_of_broadcasting(grad_shape, shape):
    # <broadcast(x), g> == <x, unbroadcast(g)> for every x, g: the defining property of the adjoint
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(shape), rng.standard_normal(grad_shape)
    out = F.unbroadcast(g, shape)
    assert out.shape == shape
    np.testing.assert_allclose(np.sum(np.broadcast_to(x, grad_shape) * g), np.sum(x * out), rtol=1e-12, atol=1e-12)


def test_unbroadcast_returns_the_same_array_when_shapes_match():
    g = np.ones((2, 3))
    assert F.unbroadcast(g, (2, 3)) is g


def test_bad_shapes_raise():
    with pytest.raises(ShapeError, match=r"broadcast_to: cannot broadcast shape \(3, 4\) to \(4, 4\)"):
        F.broadcast_to(np.ones((3, 4)), (4, 4))
    with pytest.raises(ShapeError, match=r"sum_to: cannot broadcast shape \(5,\) to \(3, 4\)"):
        F.sum_to(np.ones((3, 4)), (5,))
