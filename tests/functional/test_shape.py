import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, ShapeError
from tests.helpers import Case, run_case


def normal(*shape):
    return lambda r: [r.standard_normal(shape)]


IDX = np.array([2, 0, 2, 2, 1])  # repeats: the gradient must add up
MASK = np.array([True, False, True, True])

CASES = [
    Case("reshape", lambda x: F.reshape(x, (4, 3)), normal(3, 4), lambda x: x.reshape(4, 3),
         lambda x: x.reshape(4, 3)),
    Case("reshape_infer", lambda x: F.reshape(x, (2, -1)), normal(2, 3, 4), lambda x: x.reshape(2, -1),
         lambda x: x.reshape(2, -1)),
    Case("reshape_to_scalar", lambda x: F.reshape(x, ()), normal(1, 1), lambda x: x.reshape(()),
         lambda x: x.reshape(())),
    Case("transpose_default", F.transpose, normal(2, 3, 4), np.transpose, lambda x: x.permute(2, 1, 0)),
    Case("transpose_axes", lambda x: F.transpose(x, (1, 2, 0)), normal(2, 3, 4),
         lambda x: x.transpose(1, 2, 0), lambda x: x.permute(1, 2, 0)),
    Case("getitem_basic", lambda x: F.getitem(x, (slice(1, None), ..., None, 2)), normal(3, 4, 5),
         lambda x: x[1:, ..., None, 2], lambda x: x[1:, ..., None, 2]),
    Case("getitem_step_negative", lambda x: F.getitem(x, (slice(None, None, -2), -1)), normal(5, 3),
         lambda x: x[::-2, -1], lambda x: x.flip(0)[::2, -1]),
    Case("getitem_int_array_repeats", lambda x: F.getitem(x, IDX), normal(3, 4), lambda x: x[IDX],
         lambda x: x[torch.from_numpy(IDX)]),
    Case("getitem_two_arrays", lambda x: F.getitem(x, (IDX, np.array([0, 1, 0, 0, 3]))), normal(3, 4),
         lambda x: x[IDX, [0, 1, 0, 0, 3]], lambda x: x[torch.from_numpy(IDX), torch.tensor([0, 1, 0, 0, 3])]),
    Case("getitem_array_and_slice", lambda x: F.getitem(x, (slice(None), [1, 1, 0])), normal(2, 3, 2),
         lambda x: x[:, [1, 1, 0]], lambda x: x[:, [1, 1, 0]]),
    Case("getitem_bool_mask", lambda x: F.getitem(x, (slice(None), MASK)), normal(3, 4), lambda x: x[:, MASK],
         lambda x: x[:, torch.from_numpy(MASK)]),
    Case("concat_axis1", lambda a, b: F.concat([a, b], axis=1), lambda r: [r.standard_normal((2, 3)),
         r.standard_normal((2, 4))], lambda a, b: np.concatenate([a, b], 1), lambda a, b: torch.cat([a, b], 1)),
    Case("concat_three_neg_axis", lambda a, b, c: F.concat((a, b, c), axis=-2),
         lambda r: [r.standard_normal((2, 1, 3)), r.standard_normal((2, 2, 3)), r.standard_normal((2, 3, 3))],
         lambda a, b, c: np.concatenate([a, b, c], -2), lambda a, b, c: torch.cat([a, b, c], -2)),
    Case("stack_axis0", lambda a, b: F.stack([a, b]), lambda r: [r.standard_normal((2, 3)),
         r.standard_normal((2, 3))], lambda a, b: np.stack([a, b]), lambda a, b: torch.stack([a, b])),
    Case("stack_last", lambda a, b, c: F.stack([a, b, c], axis=-1), lambda r: [r.standard_normal((2, 3))
         for _ in range(3)], lambda a, b, c: np.stack([a, b, c], -1), lambda a, b, c: torch.stack([a, b, c], -1)),
    Case("split_sections", lambda x: F.split(x, 3, axis=1), normal(2, 6), lambda x: np.split(x, 3, 1),
         lambda x: torch.tensor_split(x, 3, 1)),
    Case("split_indices", lambda x: F.split(x, [1, 1, 3]), normal(4, 2), lambda x: np.split(x, [1, 1, 3]),
         lambda x: torch.tensor_split(x, [1, 1, 3])),
    Case("flatten", F.flatten, normal(2, 3, 4), lambda x: x.reshape(2, 12), lambda x: x.flatten(1)),
    Case("flatten_from_0", lambda x: F.flatten(x, 0), normal(2, 3), lambda x: x.reshape(-1),
         lambda x: x.flatten(0)),
    Case("flatten_neg", lambda x: F.flatten(x, -2), normal(2, 3, 4), lambda x: x.reshape(2, 12),
         lambda x: x.flatten(-2)),
    # size-1 and size-0 dimensions
    Case("reshape_size1", lambda x: F.reshape(x, (1, 3, 1)), normal(3), lambda x: x.reshape(1, 3, 1),
         lambda x: x.reshape(1, 3, 1)),
    Case("reshape_size0", lambda x: F.reshape(x, (3, -1)), normal(0, 3), lambda x: x.reshape(3, 0),
         lambda x: x.reshape(3, -1)),
    Case("transpose_size0", F.transpose, normal(0, 2), np.transpose, lambda x: x.T),
    Case("getitem_empty_list", lambda x: F.getitem(x, []), normal(3, 2), lambda x: x[np.array([], int)],
         lambda x: x[torch.tensor([], dtype=torch.long)]),
    Case("concat_size0", lambda a, b: F.concat([a, b]), lambda r: [r.standard_normal((0, 2)),
         r.standard_normal((1, 2))], lambda a, b: np.concatenate([a, b]), lambda a, b: torch.cat([a, b])),
    Case("stack_size1", lambda a: F.stack([a], axis=1), normal(1, 2), lambda a: np.stack([a], 1),
         lambda a: torch.stack([a], 1)),
    Case("split_empty_piece", lambda x: F.split(x, [0, 2]), normal(2, 3), lambda x: np.split(x, [0, 2]),
         lambda x: torch.tensor_split(x, [0, 2])),
    Case("flatten_size0", F.flatten, normal(0, 3, 2), lambda x: x.reshape(0, 6), lambda x: x.flatten(1)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_getitem_repeated_indices_accumulate_like_torch():
    rng = np.random.default_rng(3)
    data, g = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    idx = np.array([1, 1, 3, 1, 0, 3])
    x = gn.Tensor(data, requires_grad=True)
    F.getitem(x, idx).backward(g)
    t = torch.tensor(data, requires_grad=True)
    t[torch.from_numpy(idx)].backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad[1], g[0] + g[1] + g[3], rtol=1e-12)  # three picks of row 1 add up
    np.testing.assert_array_equal(x.grad[2], 0)


def test_getitem_accepts_tensor_index_and_operator():
    x = gn.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x[gn.Tensor(np.array([1, 1]))]
    y.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [2, 2, 2]])
    assert x[1, 2].shape == () and x[1, 2].item() == 5.0


def test_iterating_a_tensor_stops_at_its_end():
    rows = list(gn.Tensor(np.zeros((3, 2))))
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)


def test_split_unused_piece_gets_zero_gradient():
    x = gn.Tensor(np.arange(6.0), requires_grad=True)
    a, b, c = F.split(x, 3)
    (b * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 2, 2, 0, 0])
    assert isinstance(F.split(x, 1), tuple) and len(F.split(x, 1)) == 1


def test_reshape_noop_and_tensor_methods():
    x = gn.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert F.reshape(x, (2, 3)) is x
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.T.shape == (3, 2) and x.transpose(1, 0).shape == (3, 2) and x.transpose().shape == (3, 2)
    y = gn.Tensor(np.zeros((2, 3, 4)))
    assert y.transpose((2, 0, 1)).shape == (4, 2, 3)


def test_reshape_incompatible_names_both_shapes():
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape x of shape \(2, 3\) \(6 elements\) to \(4, 2\)"):
        F.reshape(np.ones((2, 3)), (4, 2))
    with pytest.raises(ShapeError, match=r"\(4, -1\)"):
        F.reshape(np.ones((2, 3)), (4, -1))
    with pytest.raises(ShapeError, match="one -1"):
        F.reshape(np.ones((2, 3)), (-1, -1))
    with pytest.raises(ConfigError, match="shape must be an int or a sequence of ints"):
        F.reshape(np.ones((2, 3)), (2.0, 3))


def test_transpose_bad_axes_raise():
    with pytest.raises(ShapeError, match=r"transpose: axes \(0, 0\) is not a permutation of the 2 axes"):
        F.transpose(np.ones((2, 3)), (0, 0))
    with pytest.raises(ShapeError, match="not a permutation"):
        F.transpose(np.ones((2, 3)), (0, 1, 2))


def test_getitem_out_of_bounds_raises_shape_and_index_error():
    with pytest.raises(ShapeError, match=r"getitem: index 5 is out of bounds .* \(x has shape \(3, 4\)\)"):
        F.getitem(np.ones((3, 4)), 5)
    with pytest.raises(IndexError):
        F.getitem(np.ones((3, 4)), (0, np.array([7])))


def test_concat_mismatched_shapes_raise():
    with pytest.raises(ShapeError, match=r"concat: xs\[1\] has shape \(2, 4\), expected the shape of xs\[0\] \(3, 4\) "
                       r"except on axis 1"):
        F.concat([np.ones((3, 4)), np.ones((2, 4))], axis=1)
    with pytest.raises(ShapeError, match="axis 2 is out of range"):
        F.concat([np.ones((3, 4))], axis=2)
    with pytest.raises(ConfigError, match="at least one tensor"):
        F.concat([])
    with pytest.raises(ShapeError, match="0-dimensional"):
        F.concat([np.ones(()), np.ones(())])


def test_stack_mismatched_shapes_raise():
    with pytest.raises(ShapeError, match=r"stack: xs\[1\] has shape \(3,\), expected the shape of xs\[0\] \(2,\)"):
        F.stack([np.ones(2), np.ones(3)])
    with pytest.raises(ShapeError, match="axis 3 is out of range for 3 dimensions"):
        F.stack([np.ones((2, 2))], axis=3)
    with pytest.raises(ConfigError, match="xs must be a list or tuple"):
        F.stack(gn.Tensor(np.ones(2)))


def test_split_bad_arguments_raise():
    with pytest.raises(ShapeError, match=r"split: axis 0 of x of shape \(7, 2\) \(size 7\) cannot be split into 3"):
        F.split(np.ones((7, 2)), 3)
    with pytest.raises(ConfigError, match="number of sections must be >= 1"):
        F.split(np.ones(4), 0)
    with pytest.raises(ShapeError, match=r"cut points \[1, 9\] must lie in \[0, 4\]"):
        F.split(np.ones(4), [1, 9])
    with pytest.raises(ConfigError, match="must not decrease"):
        F.split(np.ones(4), [3, 1])
    with pytest.raises(ShapeError, match="axis 1 is out of range"):
        F.split(np.ones(4), 2, axis=1)


def test_flatten_bad_start_axis_raises():
    with pytest.raises(ShapeError, match="flatten: start_axis 1 is out of range for 1 dimensions"):
        F.flatten(np.ones(3))
