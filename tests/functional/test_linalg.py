import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import DTypeError, ShapeError
from tests.helpers import Case, run_case


def normals(*shapes):
    return lambda r: [r.standard_normal(s) for s in shapes]


def t_linear(x, W, b=None):
    return torch.nn.functional.linear(x, W.T, b)


def np_linear(x, W, b=None):
    return x @ W if b is None else x @ W + b


CASES = [
    Case("matmul_2d", F.matmul, normals((3, 4), (4, 5)), np.matmul, torch.matmul),
    Case("matmul_batched", F.matmul, normals((2, 3, 4), (2, 4, 5)), np.matmul, torch.matmul),
    Case("matmul_batch_bcast", F.matmul, normals((2, 1, 3, 4), (3, 4, 2)), np.matmul, torch.matmul),
    Case("matmul_batched_a_2d_b", F.matmul, normals((2, 3, 4), (4, 5)), np.matmul, torch.matmul),
    Case("matmul_2d_a_batched_b", F.matmul, normals((3, 4), (2, 4, 5)), np.matmul, torch.matmul),
    Case("matmul_vec_mat", F.matmul, normals((4,), (4, 5)), np.matmul, torch.matmul),
    Case("matmul_mat_vec", F.matmul, normals((3, 4), (4,)), np.matmul, torch.matmul),
    Case("matmul_batched_mat_vec", F.matmul, normals((2, 3, 4), (4,)), np.matmul, torch.matmul),
    Case("matmul_vec_batched_mat", F.matmul, normals((4,), (2, 4, 3)), np.matmul, torch.matmul),
    Case("matmul_dot", F.matmul, normals((4,), (4,)), np.matmul, torch.matmul),
    Case("linear_2d", F.linear, normals((5, 3), (3, 4), (4,)), np_linear, t_linear),
    Case("linear_3d", F.linear, normals((2, 5, 3), (3, 4), (4,)), np_linear, t_linear),
    Case("linear_4d_no_bias", F.linear, normals((2, 2, 3, 3), (3, 4)), np_linear, t_linear),
    Case("linear_1d_x", F.linear, normals((3,), (3, 2), (2,)), np_linear, t_linear),
    # size-1 and size-0 dimensions
    Case("matmul_size1", F.matmul, normals((1, 1), (1, 3)), np.matmul, torch.matmul),
    Case("matmul_size0_inner", F.matmul, normals((2, 0), (0, 3)), np.matmul, torch.matmul),
    Case("matmul_size0_batch", F.matmul, normals((0, 2, 3), (3, 2)), np.matmul, torch.matmul),
    Case("linear_size1", F.linear, normals((1, 1), (1, 1), (1,)), np_linear, t_linear),
    Case("linear_size0_rows", F.linear, normals((0, 3), (3, 2), (2,)), np_linear, t_linear),
    Case("linear_size0_time", F.linear, normals((2, 0, 3), (3, 2), (2,)), np_linear, t_linear),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_matmul_operator_and_rmatmul():
    rng = np.random.default_rng(0)
    a = gn.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = rng.standard_normal((3, 4))
    y = a @ w
    np.testing.assert_allclose(y.data, a.data @ w, rtol=1e-12)
    z = rng.standard_normal((5, 2)) @ a
    assert isinstance(z, gn.Tensor) and z.shape == (5, 3)


def test_linear_only_input_grads_requested():
    rng = np.random.default_rng(1)
    x = gn.Tensor(rng.standard_normal((4, 3)))  # data: no gradient wanted
    W = gn.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    F.linear(x, W).backward(np.ones((4, 2)))
    np.testing.assert_allclose(W.grad, x.data.T @ np.ones((4, 2)), rtol=1e-12)
    assert x.grad is None


def test_linear_float32_stays_float32():
    x = gn.Tensor(np.ones((2, 3), np.float32))
    W = gn.Tensor(np.ones((3, 4), np.float32))
    assert F.linear(x, W, np.zeros(4, np.float32)).dtype == np.float32


def test_matmul_mismatched_inner_dims_raise():
    msg = r"matmul: inner dimensions differ: a \(2, 3\) has 3 columns .* b \(4, 5\) has 4"
    with pytest.raises(ShapeError, match=msg):
        F.matmul(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ShapeError, match=r"batch axes \(2,\) of a .* \(3,\) of b"):
        F.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 2)))
    with pytest.raises(ShapeError, match="at least 1 dimension"):
        F.matmul(np.ones(()), np.ones(3))
    with pytest.raises(DTypeError, match="matmul: operands must all be float"):
        F.matmul(np.ones((2, 3)), np.ones((3, 2), dtype=np.int64))


def test_linear_bad_shapes_raise():
    msg = r"linear: x must be \(\*, D\) with D == 32 \(W is \(32, 8\)\), got \(4, 7, 31\)"
    with pytest.raises(ShapeError, match=msg):
        F.linear(np.ones((4, 7, 31)), np.ones((32, 8)))
    with pytest.raises(ShapeError, match=r"linear: W must be \(D, H\), got shape \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ShapeError, match=r"linear: b must be \(H,\) with H == 8 .* got \(7,\)"):
        F.linear(np.ones((2, 3)), np.ones((3, 8)), np.ones(7))
    with pytest.raises(DTypeError, match="linear: x must be a float array, got dtype int64"):
        F.linear(np.ones((2, 3), dtype=np.int64), np.ones((3, 8)))
