import gc
import weakref

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.autograd import Function
from glassnet.errors import DTypeError, GraphError, ShapeError


def leaf(values):
    return gn.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


class Record(Function):
    """Identity that logs when its backward runs (to observe the visiting order)."""

    def __init__(self, log, name):
        self.log, self.name = log, name

    def forward(self, x):
        return x.copy()

    def backward(self, grad_y):
        self.log.append(self.name)
        return grad_y


class SplitHalves(Function):
    """Two outputs: the first and the second half of a vector."""

    def forward(self, x):
        n = x.shape[0] // 2
        return x[:n].copy(), x[n:].copy()

    def backward(self, grad_a, grad_b):
        return np.concatenate([grad_a, grad_b])


def test_value_used_twice_gets_summed_gradient():
    x = leaf([2.0, -1.0])
    y = x * 3.0 + x * x  # dy/dx = 3 + 2x
    y.backward(np.ones(2))
    np.testing.assert_array_equal(x.grad, [7.0, 1.0])


def test_diamond_graph_runs_each_backward_once_after_all_its_gradients():
    # x -> a = 2x, b = x² -> y = a * b = 2x³; dy/dx = 6x²
    log = []
    x = leaf([1.5])
    h = Record(log, "h").apply(x)  # shared by both branches
    a = Record(log, "a").apply(h * 2.0)
    b = Record(log, "b").apply(h * h)
    y = Record(log, "y").apply(a * b)
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad, [6 * 1.5**2], rtol=1e-12)
    assert log[0] == "y" and sorted(log[1:3]) == ["a", "b"] and log[3] == "h" and len(log) == 4
    assert (x.generation, h.generation) == (0, 1) and y.generation > max(a.generation, b.generation)


def test_deep_branch_joins_late_generation_order():
    # the short path x -> y must wait for the long path x -> ... -> y
    x = leaf([2.0])
    long = x
    for _ in range(5):
        long = long * 1.0
    y = long * x  # = x², dy/dx = 2x
    y.backward(np.ones(1))
    np.testing.assert_array_equal(x.grad, [4.0])


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with gn.no_grad():
        y = x * 2.0
        assert not gn.is_grad_enabled()
        with gn.enable_grad():
            z = x * 2.0
    assert gn.is_grad_enabled()
    assert y.creator is None and y.requires_grad is False
    assert z.creator is not None and z.requires_grad
    with pytest.raises(GraphError, match="does not require grad"):
        y.backward(np.ones(2))


def test_backward_twice_without_retain_graph_raises():
    x = leaf([3.0])
    y = x * x
    y.backward()
    with pytest.raises(GraphError, match="freed by an earlier backward"):
        y.backward()


def test_backward_twice_with_retain_graph_accumulates():
    x = leaf([3.0])
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [12.0])  # 2 * (2x)


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    d = (x * x).detach()
    assert d.creator is None and not d.requires_grad
    y = d * x  # only the direct path to x remains: dy/dx = d = 4
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = (x * 3.0).retain_grad()
    other = x * 3.0
    y = (h * h).sum()
    y.backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)  # dL/dh = 2h
    assert other.grad is None  # non-leaves drop their gradient by default
    np.testing.assert_array_equal(x.grad, 2 * h.data * 3.0)


def test_register_hook_sees_the_gradient():
    x = leaf([1.0, -2.0])
    seen_h, seen_x = [], []
    h = x * 4.0
    h.register_hook(lambda g: seen_h.append(g.copy()))
    x.register_hook(lambda g: seen_x.append(g.copy()))
    h.backward(np.array([0.5, 1.0]))
    assert len(seen_h) == 1 and len(seen_x) == 1
    np.testing.assert_array_equal(seen_h[0], [0.5, 1.0])
    np.testing.assert_array_equal(seen_x[0], [2.0, 4.0])


def test_backward_with_wrong_shaped_grad_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(ShapeError, match=r"backward: grad must have shape \(2,\), got \(3,\)"):
        (x * 2.0).backward(np.ones(3))
    with pytest.raises(ShapeError, match=r"grads\[0\] must have shape \(2,\), got \(1,\)"):
        gn.backward([x * 2.0], [np.ones(1)])


def test_omitted_grad_on_non_scalar_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(GraphError, match=r"grad can be omitted only for a one-element tensor, got shape \(2,\)"):
        (x * 2.0).backward()


def test_unused_output_of_multi_output_function_gets_zero_gradient():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    first, second = SplitHalves().apply(x)
    (first * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0, 0.0, 0.0])
    # also when the unused output no longer exists
    x.grad = None
    first, _ = SplitHalves().apply(x)
    gc.collect()
    (first * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0, 0.0, 0.0])


def test_graph_is_freed_after_backward():
    x = leaf(np.ones(3))
    h = x * 2.0
    y = (h * h).sum()
    fns = [y.creator, h.creator]
    y.backward()
    assert all(f.inputs is None and f.saved == () for f in fns)
    # with retain_graph the links and saved arrays stay
    h = x * 2.0
    y = (h * h).sum()
    y.backward(retain_graph=True)
    assert h.creator.inputs is not None and len(y.creator.inputs) == 1


def test_released_graph_lets_intermediates_be_collected():
    x = leaf(np.ones(3))
    h = x * 2.0
    ref = weakref.ref(h)
    y = (h * h).sum()
    del h
    y.backward()
    gc.collect()
    assert ref() is None


def test_backward_of_several_roots_and_leaf_root():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, x * x
    gn.backward([a, b], [np.ones(2), np.array([1.0, 10.0])])
    np.testing.assert_array_equal(x.grad, [2 + 2 * 1.0, 2 + 10 * 2 * 2.0])
    z = leaf([1.0])
    z.backward(np.array([3.0]))
    np.testing.assert_array_equal(z.grad, [3.0])
    with pytest.raises(GraphError, match="got 1 tensors but 2 gradients"):
        gn.backward([a], [np.ones(2), np.ones(2)])


def test_gradient_is_not_written_into_shared_arrays():
    # add hands the same grad_y to both inputs; accumulation must copy first
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])
    g = np.array([1.0, 1.0])
    (x + y).backward(g)
    x.grad += 100.0
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_mixed_float_dtypes_and_int_requires_grad_raise():
    with pytest.raises(DTypeError, match="mix float dtypes"):
        F.add(np.ones(2, np.float32), np.ones(2, np.float64))
    with pytest.raises(DTypeError, match="requires_grad needs a float array"):
        gn.Tensor(np.ones(2, dtype=np.int64), requires_grad=True)
