import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from tests.helpers import Case, run_case

COND = np.array([[True, False, True, False], [False, False, True, True], [True, True, True, False]])
COND_ROW = np.array([True, False, False, True])


def away_from(values, *shape):
    """Normal samples kept at least 0.1 from each of ``values`` (finite differences must not cross a kink)."""

    def make(r):
        x = r.standard_normal(shape)
        for v in values:
            near = np.abs(x - v) < 0.1
            x[near] = v + np.where(x[near] >= v, 0.1, -0.1)
        return [x]

    return make


CASES = [
    Case("where", lambda a, b: F.where(COND, a, b), lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4))],
         lambda a, b: np.where(COND, a, b), lambda a, b: torch.where(torch.from_numpy(COND), a, b)),
    Case("where_broadcast", lambda a, b: F.where(COND_ROW, a, b),
         lambda r: [r.standard_normal((3, 1)), r.standard_normal((2, 3, 4))],
         lambda a, b: np.where(COND_ROW, a, b), lambda a, b: torch.where(torch.from_numpy(COND_ROW), a, b)),
    Case("where_cond_widest", lambda a, b: F.where(COND, a, b), lambda r: [r.standard_normal((4,)),
         r.standard_normal((1,))], lambda a, b: np.where(COND, a, b),
         lambda a, b: torch.where(torch.from_numpy(COND), a, b)),
    Case("clip", lambda x: F.clip(x, -0.5, 0.7), away_from([-0.5, 0.7], 4, 5), lambda x: np.clip(x, -0.5, 0.7),
         lambda x: torch.clamp(x, -0.5, 0.7)),
    Case("clip_lo_only", lambda x: F.clip(x, 0.0, None), away_from([0.0], 3, 4), lambda x: np.maximum(x, 0.0),
         lambda x: torch.clamp(x, min=0.0)),
    Case("clip_hi_only", lambda x: F.clip(x, None, 0.2), away_from([0.2], 6), lambda x: np.minimum(x, 0.2),
         lambda x: torch.clamp(x, max=0.2)),
    # size-1 and size-0 dimensions
    Case("where_size0", lambda a, b: F.where(np.zeros((0, 2), bool), a, b),
         lambda r: [r.standard_normal((0, 2)), r.standard_normal((1, 2))],
         lambda a, b: np.where(np.zeros((0, 2), bool), a, b),
         lambda a, b: torch.where(torch.zeros((0, 2), dtype=torch.bool), a, b)),
    Case("clip_size1", lambda x: F.clip(x, -1.0, 1.0), lambda r: [np.array([[3.0]])], lambda x: np.clip(x, -1, 1),
         lambda x: torch.clamp(x, -1.0, 1.0)),
    Case("clip_size0", lambda x: F.clip(x, -1.0, 1.0), lambda r: [np.zeros((2, 0))], lambda x: np.clip(x, -1, 1),
         lambda x: torch.clamp(x, -1.0, 1.0)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_clip_gradient_passes_at_the_bounds_like_torch():
    data = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    x = gn.Tensor(data, requires_grad=True)
    F.clip(x, -1.0, 1.0).backward(np.full(5, 3.0))
    t = torch.tensor(data, requires_grad=True)
    torch.clamp(t, -1.0, 1.0).backward(torch.full((5,), 3.0, dtype=torch.float64))
    np.testing.assert_array_equal(x.grad, [0, 3, 3, 3, 0])
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_where_scalar_branch_keeps_dtype_and_method():
    x = gn.Tensor(np.array([-1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = F.where(x.data > 0, x, 0.0)
    assert y.dtype == np.float32
    y.backward(np.ones(2, np.float32))
    np.testing.assert_array_equal(x.grad, [0, 1])
    assert x.clip(0.0, 1.0).dtype == np.float32


def test_where_bad_inputs_raise():
    with pytest.raises(DTypeError, match="where: condition must be a bool array, got dtype float64"):
        F.where(np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(ShapeError, match=r"where: condition \(4,\), a \(3,\) and b \(3,\) cannot be broadcast"):
        F.where(np.ones(4, bool), np.ones(3), np.ones(3))
    with pytest.raises(ShapeError, match="where: shapes"):
        F.where(True, np.ones(3), np.ones(2))


def test_clip_bad_bounds_raise():
    with pytest.raises(ConfigError, match="clip: lo must be <= hi, got lo=1.0, hi=0.0"):
        F.clip(np.ones(3), 1.0, 0.0)
    with pytest.raises(ConfigError, match="at least one of lo and hi"):
        F.clip(np.ones(3), None, None)
    with pytest.raises(ConfigError, match="clip: hi must be a number, got array"):
        F.clip(np.ones(3), 0.0, np.ones(3))
