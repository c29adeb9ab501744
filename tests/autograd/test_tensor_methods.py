"""Tensor methods PyTorch users reach for: dim=/keepdim= on every reduction, item, tolist, numpy,
astype, argmax/argmin, T, detach; values and gradients against torch."""

import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from tests.helpers import Case, run_case


def normal(*shape):
    return lambda r: [r.standard_normal(shape)]


# each method called with torch's spelling, against torch's own call
CASES = [
    Case("sum_dim", lambda x: x.sum(dim=1), normal(3, 4), lambda x: x.sum(1), lambda x: x.sum(dim=1)),
    Case("sum_dim_tuple_keepdim", lambda x: x.sum(dim=(0, 2), keepdim=True), normal(2, 3, 4),
         lambda x: x.sum((0, 2), keepdims=True), lambda x: x.sum(dim=(0, 2), keepdim=True)),
    Case("mean_dim0", lambda x: x.mean(dim=0), normal(3, 4), lambda x: x.mean(0), lambda x: x.mean(dim=0)),
    Case("mean_dim_keepdim", lambda x: x.mean(dim=-1, keepdim=True), normal(2, 5),
         lambda x: x.mean(-1, keepdims=True), lambda x: x.mean(dim=-1, keepdim=True)),
    Case("max_dim", lambda x: x.max(dim=1), normal(3, 5), lambda x: x.max(1), lambda x: x.amax(dim=1)),
    Case("min_dim", lambda x: x.min(dim=1), normal(3, 5), lambda x: x.min(1), lambda x: x.amin(dim=1)),
    Case("min_all", lambda x: x.min(), normal(3, 5), np.min, lambda x: x.amin()),
    Case("min_keepdim", lambda x: x.min(dim=0, keepdim=True), normal(4, 3), lambda x: x.min(0, keepdims=True),
         lambda x: x.amin(dim=0, keepdim=True)),
    Case("var_all", lambda x: x.var(), normal(3, 4), np.var, lambda x: x.var(correction=0)),
    Case("var_dim_unbiased", lambda x: x.var(dim=1, correction=1), normal(3, 5), lambda x: x.var(1, ddof=1),
         lambda x: x.var(dim=1)),
    Case("var_axis_keep_ddof", lambda x: F.var(x, axis=(0, 2), keepdims=True, ddof=1), normal(2, 3, 4),
         lambda x: x.var((0, 2), keepdims=True, ddof=1), lambda x: x.var(dim=(0, 2), keepdim=True)),
    Case("std_dim", lambda x: x.std(dim=0), normal(4, 3), lambda x: x.std(0), lambda x: x.std(dim=0, correction=0)),
    Case("std_unbiased_keepdim", lambda x: x.std(dim=-1, keepdim=True, ddof=1), normal(2, 6),
         lambda x: x.std(-1, keepdims=True, ddof=1), lambda x: x.std(dim=-1, keepdim=True)),
    Case("logsumexp_dim", lambda x: x.logsumexp(dim=0), normal(4, 3), lambda x: np.log(np.exp(x).sum(0)),
         lambda x: x.logsumexp(dim=0)),
    Case("logsumexp_default_last", lambda x: x.logsumexp(), normal(4, 3), lambda x: np.log(np.exp(x).sum(-1)),
         lambda x: x.logsumexp(dim=-1)),
    Case("T", lambda x: x.T * 1.0, normal(3, 4), lambda x: x.T, lambda x: x.T * 1.0),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_method_matches_torch(case):
    run_case(case)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin"])
def test_axis_and_dim_together_is_a_config_error(name):
    x = gn.Tensor(np.ones((2, 3)))
    with pytest.raises(ConfigError, match=f"{name}: give axis or its alias dim, not both"):
        getattr(x, name)(axis=0, dim=1)
    with pytest.raises(ConfigError, match="not both"):
        getattr(F, name)(x, axis=-1, dim=-1)
    with pytest.raises(ConfigError, match="keepdim"):
        getattr(x, name)(0, keepdims=True, keepdim=True)


def test_keepdims_must_be_a_bool_and_unknown_keywords_name_the_op():
    x = gn.Tensor(np.ones((2, 3)))
    with pytest.raises(ConfigError, match="mean: keepdim must be True or False, got 'yes'"):
        x.mean(dim=0, keepdim="yes")
    with pytest.raises(TypeError, match="mean"):  # the public op, not an internal lambda
        x.mean(dims=0)
    assert x.mean.__doc__ == F.mean.__doc__ and "dim" in F.mean.__doc__


def test_var_std_of_too_few_elements_is_nan_as_torch():
    x = gn.Tensor(np.array([[1.5], [2.0]]))
    got = x.var(dim=1, correction=1).data
    with pytest.warns(UserWarning, match="degrees of freedom"):
        want = torch.tensor([[1.5], [2.0]]).var(dim=1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    with pytest.raises(ConfigError, match="var: give ddof or its alias correction"):
        x.var(ddof=1, correction=1)
    with pytest.raises(ConfigError, match="std: ddof must be a number in \\[0, inf\\)"):
        x.std(ddof=-1)


def test_min_gradient_goes_to_first_minimum():
    x = gn.Tensor(np.array([[3.0, 1.0, 1.0], [0.0, 2.0, 0.0]]), requires_grad=True)
    x.min(dim=1).backward(np.array([5.0, 7.0]))
    np.testing.assert_array_equal(x.grad, [[0, 5, 0], [7, 0, 0]])
    with pytest.raises(ShapeError, match="min"):
        gn.Tensor(np.ones((0, 2))).min(dim=0)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_torch_and_are_integer_arrays(name):
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    x, t = gn.Tensor(a, requires_grad=True), torch.tensor(a)
    for kw in ({}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": 0}):
        got = getattr(x, name)(**kw)
        want = getattr(t, name)(**kw).numpy()
        assert isinstance(got, np.ndarray) and got.dtype == np.int64
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(getattr(F, name)(a, axis=2), getattr(a, name)(axis=2))
    assert getattr(x, name)(keepdim=True).shape == (1, 1, 1)
    with pytest.raises(ShapeError, match=f"{name}: axis 3 is out of range"):
        getattr(x, name)(axis=3)
    with pytest.raises(ShapeError, match=name):
        getattr(gn.Tensor(np.ones((2, 0))), name)(dim=1)
    with pytest.raises(ConfigError, match="dim must be an integer"):
        getattr(x, name)(dim=(0, 1))


def test_accuracy_idiom_works():
    logits = gn.Tensor(np.array([[0.1, 2.0], [3.0, -1.0], [0.0, 1.0]]))
    labels = np.array([1, 0, 0])
    assert (logits.argmax(dim=1) == labels).mean() == pytest.approx(2 / 3)


def test_item_tolist_numpy_detach():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    x = gn.Tensor(a, requires_grad=True)
    t = torch.tensor(a)
    assert x.tolist() == t.tolist()
    assert isinstance(x.tolist()[0][0], float)
    assert x.sum().item() == t.sum().item() == 15.0 and isinstance(x.sum().item(), float)
    assert gn.Tensor(np.array(3)).tolist() == 3
    with pytest.raises(ShapeError, match="item: tensor must have exactly one element, got shape \\(2, 3\\)"):
        x.item()
    n = x.numpy()
    assert isinstance(n, np.ndarray)
    np.testing.assert_array_equal(n, a)
    d = (x * 2.0).detach()
    assert not d.requires_grad and d.creator is None
    np.testing.assert_array_equal(d.data, 2 * a)


def test_T_is_differentiable_and_matches_torch():
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    up = np.random.default_rng(2).standard_normal((4, 3, 2))
    x = gn.Tensor(a, requires_grad=True)
    x.T.backward(up)
    t = torch.tensor(a, requires_grad=True)
    t.permute(2, 1, 0).backward(torch.tensor(up))  # torch's .T on ndim > 2 is deprecated; it reverses all axes
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_astype():
    a = np.array([[1.7, -2.5], [0.25, 3.0]])
    x = gn.Tensor(a, requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.ones_like(a))
    # float32 -> float64 under a random upstream gradient, against torch's .to
    up = np.random.default_rng(0).standard_normal(a.shape)
    x32 = gn.Tensor(a.astype(np.float32), requires_grad=True)
    (x32.astype(np.float64) * gn.Tensor(up)).sum().backward()
    t32 = torch.tensor(a.astype(np.float32), requires_grad=True)
    (t32.to(torch.float64) * torch.tensor(up)).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad, t32.grad.numpy())
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad
    np.testing.assert_array_equal(i.data, torch.tensor(a).to(torch.int64).numpy())
    np.testing.assert_array_equal(x.astype(bool).data, a.astype(bool))
    with pytest.raises(DTypeError, match="astype: a float dtype must be float32 or float64, got float16"):
        x.astype(np.float16)
    with pytest.raises(DTypeError, match="astype"):
        x.astype("not a dtype")
