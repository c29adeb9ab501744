"""Issue 8 defects 1 and 2: repeated positions in tuple indices accumulate; x**0 has gradient 0 at 0 (as torch)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F

torch = pytest.importorskip("torch")


def _torch_index(index):
    """The same index for torch: tuples inside the index become lists (torch reads both as advanced indices)."""
    items = index if isinstance(index, tuple) else (index,)
    return tuple(list(i) if isinstance(i, tuple) else i for i in items)


@pytest.mark.parametrize(("shape", "index"), [
    ((2, 3), (slice(None), (1, 1))),
    ((3,), ((0, 0, 2),)),
    ((2, 3), (slice(None), [1, 1, 0])),
    ((2, 3), ((1, 1), (2, 2))),
    ((4, 3), ((0, 0, 3), slice(1, 3))),
    ((2, 3, 4), (Ellipsis, (3, 3, 1))),
    ((2, 3), (None, slice(None), (0, 0))),
    ((5,), np.array([4, 4, 4, 0])),
])
def test_repeated_positions_accumulate_like_torch(shape, index):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape)
    x = gn.Tensor(x_np.copy(), requires_grad=True)
    y = F.getitem(x, index)
    upstream = rng.standard_normal(y.shape)
    F.sum(y * upstream).backward()
    xt = torch.tensor(x_np, requires_grad=True)
    yt = xt[_torch_index(index)]
    assert tuple(yt.shape) == y.shape
    (yt * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=0, atol=1e-12)


def test_the_reported_cases():
    x = gn.Tensor(np.zeros((2, 3)), requires_grad=True)
    F.sum(x[:, (1, 1)]).backward()
    np.testing.assert_array_equal(x.grad, [[0, 2, 0], [0, 2, 0]])
    y = gn.Tensor(np.zeros(3), requires_grad=True)
    F.sum(y[((0, 0, 2),)]).backward()
    np.testing.assert_array_equal(y.grad, [2, 0, 1])


@pytest.mark.parametrize(("c", "x"), [
    (0, [0.0, 2.0, -3.0]), (0.0, [0.0, 1.5]), (1, [0.0, -2.0]), (1.0, [0.0]), (2, [0.0, -1.5, 3.0]),
    (3, [-2.0, 0.0]), (0.5, [0.0, 4.0]), (-1, [-2.0, 0.5]), (2.0, [-0.5]),
])
def test_pow_gradient_matches_torch_at_the_edges(c, x):
    x_np = np.array(x)
    xg = gn.Tensor(x_np.copy(), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        F.sum(xg ** c).backward()
    xt = torch.tensor(x_np, requires_grad=True)
    (xt ** c).sum().backward()
    np.testing.assert_array_equal(np.isnan(xg.grad), np.isnan(xt.grad.numpy()))
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-12, atol=0)


def test_pow_zero_is_constant_through_f_pow():
    x = gn.Tensor(np.array([0.0, 0.0, 5.0]), requires_grad=True)
    F.sum(F.pow(x, 0)).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize(("a_shape", "b_shape"), [
    ((5, 5, 0), (0, 5)), ((0, 3), (3, 4)), ((2, 0, 3), (3, 4)), ((3,), (3, 0)), ((2, 4, 0), (2, 0, 3)),
    ((0, 2, 3), (3, 2)),
])
def test_matmul_with_zero_sizes_like_torch(a_shape, b_shape):
    """Issue 8 defect 8: (5, 5, 0) @ (0, 5) crashed in a reshape; it is zeros (5, 5, 5) as NumPy and torch."""
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    a, b = gn.Tensor(a_np, requires_grad=True), gn.Tensor(b_np, requires_grad=True)
    y = F.matmul(a, b)
    np.testing.assert_array_equal(y.data, np.matmul(a_np, b_np))
    upstream = rng.standard_normal(y.shape)
    F.sum(y * upstream).backward()
    at, bt = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    (torch.matmul(at, bt) * torch.from_numpy(upstream)).sum().backward()
    for ours, theirs, x in ((a.grad, at.grad, a_np), (b.grad, bt.grad, b_np)):
        assert ours.shape == x.shape and ours.dtype == x.dtype
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_negative_sampling_loss_on_an_empty_batch_is_zero_like_cross_entropy(reduction):
    """Issue 8 defect 9: an empty batch gave NaN and a RuntimeWarning; every loss reduces the same way."""
    import warnings

    rng = np.random.default_rng(2)
    h = gn.Tensor(np.zeros((0, 4)), requires_grad=True)
    W = gn.Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.negative_sampling_loss(h, W, np.zeros(0, np.int64), np.zeros((0, 3), np.int64), reduction=reduction)
        ce = F.softmax_cross_entropy(gn.Tensor(np.zeros((0, 5)), requires_grad=True), np.zeros(0, np.int64),
                                     reduction=reduction)
        assert loss.shape == ce.shape
        np.testing.assert_array_equal(loss.data, ce.data)
        F.sum(loss).backward()
    assert h.grad.shape == (0, 4) and W.grad.shape == (6, 4) and not W.grad.any()
