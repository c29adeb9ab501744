import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import DTypeError, ShapeError
from tests.helpers import Case, run_case, torch

tF = torch.nn.functional


def torch_embedding(W, idx):
    return tF.embedding(idx, W)


CASES = [
    Case("embedding_2d", F.embedding, lambda r: [r.standard_normal((6, 3)), r.integers(0, 6, (2, 4))],
         lambda W, i: W[i], torch_embedding),
    Case("embedding_1d", F.embedding, lambda r: [r.standard_normal((5, 4)), np.array([4, 0, 0, 2])],
         lambda W, i: W[i], torch_embedding),
    Case("embedding_repeats", F.embedding, lambda r: [r.standard_normal((3, 2)), np.array([[1, 1, 1], [0, 1, 0]])],
         lambda W, i: W[i], torch_embedding),
    Case("embedding_scalar_index", F.embedding, lambda r: [r.standard_normal((4, 3)), np.array(2)],
         lambda W, i: W[i], torch_embedding),
    # size-1 and size-0 dimensions
    Case("embedding_size1", F.embedding, lambda r: [r.standard_normal((1, 1)), np.zeros((1, 1), np.int64)],
         lambda W, i: W[i], torch_embedding),
    Case("embedding_no_indices", F.embedding, lambda r: [r.standard_normal((4, 3)), np.zeros((2, 0), np.int64)],
         lambda W, i: W[i], torch_embedding),
    Case("embedding_E0", F.embedding, lambda r: [np.zeros((4, 0)), np.array([1, 3])], lambda W, i: W[i],
         torch_embedding),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_repeated_indices_accumulate():
    W = gn.Tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    idx = np.array([[1, 3, 1], [1, 0, 3]])
    y = F.embedding(W, idx)
    assert y.shape == (2, 3, 2)
    g = np.arange(12.0).reshape(2, 3, 2)
    y.backward(g)
    expected = np.zeros((4, 2))
    expected[0] = g[1, 1]
    expected[1] = g[0, 0] + g[0, 2] + g[1, 0]  # three uses of row 1: all three gradients add up
    expected[3] = g[0, 1] + g[1, 2]
    np.testing.assert_array_equal(W.grad, expected)
    assert not np.any(W.grad[2])  # an unused row gets zero gradient


def test_float32_and_uint_indices():
    W = gn.Tensor(np.ones((5, 3), np.float32), requires_grad=True)
    y = F.embedding(W, np.array([4, 4], np.uint16))
    y.backward(np.ones((2, 3), np.float32))
    assert y.dtype == np.float32 and W.grad.dtype == np.float32
    np.testing.assert_array_equal(W.grad[4], [2, 2, 2])


def test_bad_input():
    W = np.zeros((10, 3))
    with pytest.raises(ShapeError, match=r"embedding: indices must be in \[0, V\) with V == 10, got 12"):
        F.embedding(W, np.array([[1, 12], [3, 4]]))
    with pytest.raises(ShapeError, match=r"with V == 10, got -1"):
        F.embedding(W, np.array([-1]))
    with pytest.raises(DTypeError, match="embedding: indices must be an integer array, got dtype float64"):
        F.embedding(W, np.array([1.0, 2.0]))
    with pytest.raises(DTypeError, match="embedding: W must be a float array"):
        F.embedding(np.zeros((10, 3), np.int64), np.array([1]))
    with pytest.raises(ShapeError, match=r"embedding: W must be \(V, E\), got shape \(10,\)"):
        F.embedding(np.zeros(10), np.array([1]))
