import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, ShapeError
from tests.helpers import Case, run_case


def normal(*shape):
    return lambda r: [r.standard_normal(shape)]


CASES = [
    Case("sum_all", F.sum, normal(3, 4), np.sum, lambda x: x.sum()),
    Case("sum_axis0", lambda x: F.sum(x, axis=0), normal(3, 4), lambda x: x.sum(0), lambda x: x.sum(0)),
    Case("sum_neg_axis_keep", lambda x: F.sum(x, axis=-1, keepdims=True), normal(2, 3, 4),
         lambda x: x.sum(-1, keepdims=True), lambda x: x.sum(-1, keepdim=True)),
    Case("sum_tuple", lambda x: F.sum(x, axis=(0, 2)), normal(2, 3, 4), lambda x: x.sum((0, 2)),
         lambda x: x.sum((0, 2))),
    Case("mean_all", F.mean, normal(3, 4), np.mean, lambda x: x.mean()),
    Case("mean_axis1_keep", lambda x: F.mean(x, axis=1, keepdims=True), normal(2, 5, 3),
         lambda x: x.mean(1, keepdims=True), lambda x: x.mean(1, keepdim=True)),
    Case("max_all", F.max, normal(3, 4), np.max, lambda x: x.amax()),
    Case("max_axis1", lambda x: F.max(x, axis=1), normal(3, 5), lambda x: x.max(1), lambda x: x.amax(1)),
    Case("max_axis0_keep", lambda x: F.max(x, axis=0, keepdims=True), normal(4, 3, 2),
         lambda x: x.max(0, keepdims=True), lambda x: x.amax(0, keepdim=True)),
    Case("max_tuple_middle", lambda x: F.max(x, axis=(0, 2)), normal(3, 2, 4), lambda x: x.max((0, 2)),
         lambda x: x.amax((0, 2))),
    Case("logsumexp_last", F.logsumexp, normal(3, 5), lambda x: np.log(np.exp(x).sum(-1)),
         lambda x: torch.logsumexp(x, -1)),
    Case("logsumexp_axis0_keep", lambda x: F.logsumexp(x, axis=0, keepdims=True), normal(4, 3),
         lambda x: np.log(np.exp(x).sum(0, keepdims=True)), lambda x: torch.logsumexp(x, 0, keepdim=True)),
    Case("logsumexp_all", lambda x: F.logsumexp(x, axis=None), normal(2, 3), lambda x: np.log(np.exp(x).sum()),
         lambda x: torch.logsumexp(x, (0, 1))),
    # size-1 and size-0 dimensions
    Case("sum_size1", lambda x: F.sum(x, axis=1), normal(3, 1), lambda x: x.sum(1), lambda x: x.sum(1)),
    Case("sum_size0_reduced", lambda x: F.sum(x, axis=0), normal(0, 3), lambda x: x.sum(0), lambda x: x.sum(0)),
    Case("mean_size0_kept", lambda x: F.mean(x, axis=1), normal(0, 3), lambda x: x.mean(1), lambda x: x.mean(1)),
    Case("max_size1", lambda x: F.max(x, axis=0), normal(1, 4), lambda x: x.max(0), lambda x: x.amax(0)),
    Case("max_size0_kept", lambda x: F.max(x, axis=1), normal(0, 3), lambda x: x.max(1), lambda x: x.amax(1)),
    Case("logsumexp_size1", F.logsumexp, normal(4, 1), lambda x: x[:, 0], lambda x: torch.logsumexp(x, -1)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_max_ties_give_gradient_to_first_maximum_only():
    x = gn.Tensor(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]]), requires_grad=True)
    F.max(x, axis=1).backward(np.array([5.0, 7.0]))
    np.testing.assert_array_equal(x.grad, [[0, 5, 0, 0], [7, 0, 0, 0]])
    # over several axes "first" is C order over the reduced axes, as argmax picks
    z = gn.Tensor(np.array([[1.0, 4.0], [4.0, 4.0]]), requires_grad=True)
    F.max(z).backward()
    np.testing.assert_array_equal(z.grad, [[0, 1], [0, 0]])


def test_max_grad_matches_torch_max_with_index_under_ties():
    # torch.max(x, dim) routes the gradient to one index; on these ties it is the first
    data = np.array([[0.5, 0.5, -1.0], [3.0, 1.0, 3.0]])
    x = gn.Tensor(data, requires_grad=True)
    F.max(x, axis=1).backward(np.array([1.0, 2.0]))
    t = torch.tensor(data, requires_grad=True)
    values, idx = t.max(1)
    values.backward(torch.tensor([1.0, 2.0], dtype=torch.float64))
    np.testing.assert_array_equal(idx.numpy(), [0, 0])
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_logsumexp_is_stable_for_huge_logits():
    for dtype in (np.float32, np.float64):
        x = gn.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype), requires_grad=True)
        y = F.logsumexp(x)
        expected = np.array([1e4, -1e4 + np.log(3.0)])
        np.testing.assert_allclose(y.data, expected, rtol=1e-6)
        y.backward(np.ones(2, dtype=dtype))
        assert np.all(np.isfinite(x.grad))
        np.testing.assert_allclose(x.grad, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6, atol=1e-30)


def test_logsumexp_of_all_minus_inf_is_minus_inf_without_nan():
    with np.errstate(all="raise"):
        y = F.logsumexp(np.full((2, 3), -np.inf), axis=1)
    np.testing.assert_array_equal(y.data, [-np.inf, -np.inf])


def test_mean_keeps_float32_and_empty_mean_is_nan():
    x = gn.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    assert F.mean(x).dtype == np.float32
    y = F.mean(gn.Tensor(np.zeros((0, 2))), axis=0)
    assert np.all(np.isnan(y.data)) and y.shape == (2,)


def test_tensor_methods_bound():
    rng = np.random.default_rng(0)
    x = gn.Tensor(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(x.sum(axis=1).data, x.data.sum(1))
    np.testing.assert_allclose(x.mean(0, keepdims=True).data, x.data.mean(0, keepdims=True))
    np.testing.assert_allclose(x.max().data, x.data.max())


@pytest.mark.parametrize("fn", [F.sum, F.mean, F.max, F.logsumexp], ids=lambda f: f.__name__)
def test_axis_out_of_range_raises(fn):
    with pytest.raises(ShapeError, match=rf"{fn.__name__}: axis 2 is out of range for 2 dimensions"):
        fn(np.ones((2, 3)), axis=2)
    with pytest.raises(ConfigError, match="repeats an axis"):
        fn(np.ones((2, 3)), axis=(0, -2))
    with pytest.raises(ConfigError, match="axis must be an integer"):
        fn(np.ones((2, 3)), axis=1.0)


@pytest.mark.parametrize("fn", [F.max, F.logsumexp], ids=lambda f: f.__name__)
def test_reduction_over_empty_axis_raises(fn):
    with pytest.raises(ShapeError, match=rf"{fn.__name__}: cannot reduce x of shape \(0, 3\) over axis \(0,\)"):
        fn(np.ones((0, 3)), axis=0)
