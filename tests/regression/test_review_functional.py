"""Review of the finished core (autograd, functional, nn, optim, data): bugs found, conventions, properties.

Each ``test_bug_*`` failed before its fix. The mutation tests check DESIGN.md's rule that gradients are
never written into an incoming gradient, an input or a saved array, and that two ``.grad`` arrays never
share memory. The hypothesis tests are small (few examples, no deadline) to keep the suite fast.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.data import ArrayDataset, DataLoader
from glassnet.errors import ConfigError, ShapeError
from glassnet.testing import gradcheck

FAST = settings(max_examples=25, deadline=None)


def leaf(a):
    return gn.Tensor(np.array(a), requires_grad=True)


# ------------------------------------------------------------------ bugs (each failed before its fix)
@pytest.mark.parametrize("op", [F.add, F.sub, F.mul, F.div, lambda a, b: F.where(np.ones(3, bool), a, b)])
def test_bug_int_operand_does_not_promote_float32_to_float64(op):
    # NumPy promotes int64 with float32 to float64: the output left float32 and x.grad came back float64
    x = leaf(np.ones(3, np.float32))
    y = op(x, np.arange(1, 4))
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert x.grad.dtype == np.float32
    assert op(np.arange(1, 4), x).dtype == np.float32
    assert (x + gn.Tensor(2)).dtype == np.float32  # a 0-d int tensor as well


@pytest.mark.parametrize("op", [F.concat, F.stack])
def test_bug_concat_stack_int_part_keeps_float32(op):
    x = leaf(np.ones((1, 3), np.float32))
    y = op([x, np.zeros((1, 3), np.int64)])
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert x.grad.dtype == np.float32


def test_bug_module_to_none_is_rejected_not_float64():
    # np.dtype(None) is float64: Module.to(None) silently cast the model to float64
    lin = nn.Linear(3, 2, rng=0)
    with pytest.raises(ConfigError, match="Linear.to: target"):
        lin.to(None)
    assert lin.W.dtype == np.float32


def test_bug_dataloader_negative_seed_raises_config_error():
    # was NumPy's bare ValueError from default_rng(-1)
    with pytest.raises(ConfigError, match="DataLoader: rng"):
        DataLoader(ArrayDataset(np.ones(3)), rng=-1)
    with pytest.raises(ConfigError, match="DataLoader: rng"):
        DataLoader(ArrayDataset(np.ones(3)), rng=True)


def test_bug_linear_layer_takes_lists_and_names_the_shape():
    # a nested list was refused with "got None"; F.linear accepts it
    lin = nn.Linear(3, 2, rng=0)
    assert lin([[1.0, 2.0, 3.0]]).shape == (1, 2)
    with pytest.raises(ShapeError, match=r"D == 3, got \(1, 2\)"):
        lin([[1.0, 2.0]])
    with pytest.raises(ConfigError, match="Linear: bias must be a bool"):
        nn.Linear(3, 2, bias="no")


def test_bug_softmax_cross_entropy_ignore_index_must_be_int():
    # a str or float ignore_index silently ignored nothing
    logits, labels = np.zeros((2, 3), np.float32), np.array([0, 1])
    for bad in ("a", 1.5, None, True):
        with pytest.raises(ConfigError, match="ignore_index must be an int"):
            F.softmax_cross_entropy(logits, labels, ignore_index=bad)
    assert F.softmax_cross_entropy(logits, labels, ignore_index=np.int64(1)).item() == pytest.approx(np.log(3))


def test_bug_clip_nan_bound_raises():
    # np.clip with a NaN bound gives NaN everywhere: it was accepted silently
    with pytest.raises(ConfigError, match="clip: lo"):
        F.clip(np.ones(3, np.float32), float("nan"), 1.0)
    assert F.clip(np.array([-5.0, 5.0]), -np.inf, 1.0).data.tolist() == [-5.0, 1.0]


def test_bug_broadcast_shape_floats_and_strings_raise():
    # int(2.7) truncated to 2 silently; "ab" raised a bare ValueError
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ConfigError, match="broadcast_to: shape"):
        F.broadcast_to(x, (2.7, 3))
    with pytest.raises(ConfigError, match="sum_to: shape"):
        F.sum_to(x, "ab")
    assert F.broadcast_to(x, np.array([4, 2, 3])).shape == (4, 2, 3)
    assert F.sum_to(x, 3).shape == (3,)


def test_bug_dropout_training_must_be_bool():
    # training="no" is truthy: dropout was applied
    with pytest.raises(ConfigError, match="dropout: training must be True or False"):
        F.dropout(np.ones(3, np.float32), 0.5, training="no", rng=0)


# ------------------------------------------------------------------ mutation: gradients never written in place
def _ops():
    r = np.random.default_rng(0)
    a, b = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    labels = np.array([0, 3, -100])
    return [
        ("add", lambda x, y: F.add(x, y), [a, b]),
        ("add_bcast", lambda x, y: F.add(x, y), [a, b[0]]),
        ("mul_same", lambda x, y: F.mul(x, y), [a, a.copy()]),
        ("sum_then_reshape", lambda x: F.reshape(F.sum(x, axis=0, keepdims=True), (4,)), [a]),
        ("getitem_basic", lambda x: F.getitem(x, (slice(None), 1)), [a]),
        ("getitem_fancy", lambda x: F.getitem(x, ([0, 0, 2],)), [a]),
        ("transpose", lambda x: F.transpose(x), [a]),
        ("split", lambda x: F.split(x, 2, axis=1)[0], [a]),
        ("concat", lambda x, y: F.concat([x, y], axis=0), [a, b]),
        ("stack", lambda x, y: F.stack([x, y]), [a, b]),
        ("matmul", lambda x, y: F.matmul(x, F.transpose(y)), [a, b]),
        ("linear", lambda x, w, c: F.linear(x, w, c), [a, b.T.copy(), np.ones(3)]),
        ("softmax", lambda x: F.softmax(x), [a]),
        ("log_softmax", lambda x: F.log_softmax(x, axis=0), [a]),
        ("logsumexp", lambda x: F.logsumexp(x, axis=1), [a]),
        ("max", lambda x: F.max(x, axis=1), [a]),
        ("sce_none", lambda x: F.softmax_cross_entropy(x, labels, reduction="none"), [a]),
        ("mse", lambda x, y: F.mean_squared_error(x, y), [a, b]),
        ("bce", lambda x, y: F.binary_cross_entropy_with_logits(x, F.sigmoid(y), reduction="none"), [a, b]),
        ("where", lambda x, y: F.where(a > 0, x, y), [a, b]),
        ("clip", lambda x: F.clip(x, -0.5, 0.5), [a]),
        ("tanh_sigmoid_relu", lambda x: F.relu(F.tanh(x) + F.sigmoid(x)), [a]),
        ("embedding", lambda w: F.embedding(w, np.array([[0, 2], [2, 2]])), [a]),
        ("lstm", lambda x, wx, wh: F.lstm(x, None, None, wx, wh, np.zeros(8))[0],
         [r.standard_normal((1, 3, 2)), r.standard_normal((2, 8)), r.standard_normal((2, 8))]),
    ]


@pytest.mark.parametrize("name,fn,arrays", _ops(), ids=[o[0] for o in _ops()])
def test_backward_writes_into_no_input_upstream_or_saved_array(name, fn, arrays):
    xs = [leaf(a) for a in arrays]
    y = fn(*xs)
    upstream = np.random.default_rng(1).standard_normal(y.shape)
    before_inputs = [x.data.copy() for x in xs]
    before_upstream = upstream.copy()
    saved_before = []
    stack, seen = [y.creator], set()
    while stack:  # every Function in the graph and a copy of what it saved
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        saved_before.append((f, [np.array(s, copy=True) for s in f.saved if isinstance(s, np.ndarray)]))
        stack.extend(t.creator for t in f.inputs)
    y.backward(upstream, retain_graph=True)
    for x, b in zip(xs, before_inputs):
        np.testing.assert_array_equal(x.data, b)
    np.testing.assert_array_equal(upstream, before_upstream)
    for f, copies in saved_before:
        for s, c in zip([s for s in f.saved if isinstance(s, np.ndarray)], copies):
            np.testing.assert_array_equal(s, c, err_msg=f"{name}: {type(f).__name__} saved array changed")
    # each .grad is its own writable array: changing one in place changes no other
    grads = [x.grad for x in xs if x.grad is not None]
    for g in grads:
        assert g.flags.writeable
    for i, g in enumerate(grads):
        others = [h.copy() for j, h in enumerate(grads) if j != i]
        g += 1.0
        for h, c in zip([h for j, h in enumerate(grads) if j != i], others):
            np.testing.assert_array_equal(h, c)


def test_retained_intermediate_grad_is_not_shared_with_leaf_grad():
    x = leaf(np.ones(3))
    y = F.add(x, 0.0).retain_grad()
    z = F.add(y, 0.0)
    z.backward(np.arange(3.0))
    y.grad += 100.0
    np.testing.assert_array_equal(x.grad, np.arange(3.0))


# ------------------------------------------------------------------ gradients of the tricky ops
@pytest.mark.parametrize("index", [
    (np.array([1, 1, 3]), slice(None), np.array([0, 0, 4])),     # advanced axes apart: moved to the front
    (np.array([True, False, True, True]), slice(1, 3), np.array([1, 1, 0])),
    (Ellipsis, np.array([[4, 4], [0, 4]])),
    (None, slice(None, None, -1), 2, [0, 0, 1]),
    (np.array(2), np.array([1, 1])),                             # 0-d int array counts as advanced
], ids=["apart", "bool_slice_int", "ellipsis_2d", "newaxis_negstep_int_list", "zero_d"])
def test_getitem_mixed_indices_gradcheck_random_upstream(index):
    x = np.random.default_rng(2).standard_normal((4, 5, 5))
    gradcheck(lambda t: F.getitem(t, index), [x])


@pytest.mark.parametrize("red", ["mean", "sum", "none"])
def test_softmax_cross_entropy_ignore_index_matches_torch(red):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(3)
    logits, labels = r.standard_normal((3, 4, 5)), r.integers(0, 5, (3, 4))
    labels[0, 1] = labels[2, 3] = 0  # ignore_index inside [0, K): a padding id
    t_logits = torch.tensor(logits, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(t_logits.permute(0, 2, 1), torch.tensor(labels), ignore_index=0,
                                               reduction=red)
    g = r.standard_normal(tuple(t_loss.shape))
    t_loss.backward(torch.tensor(g))
    x = leaf(logits)
    loss = F.softmax_cross_entropy(x, labels.astype(np.uint8), ignore_index=0, reduction=red)
    loss.backward(g)
    np.testing.assert_allclose(loss.data, t_loss.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad, t_logits.grad.numpy(), atol=1e-12)


# ------------------------------------------------------------------ properties (hypothesis)
@st.composite
def broadcastable_pair(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    other = tuple(1 if draw(st.booleans()) else s for s in shape)
    other = other[draw(st.integers(0, len(other))):]  # drop some leading axes
    return (shape, other) if draw(st.booleans()) else (other, shape)


@FAST
@given(broadcastable_pair(), st.sampled_from(["add", "mul"]))
def test_property_binary_broadcast_grad_is_sum_to(shapes, op):
    sa, sb = shapes
    r = np.random.default_rng(0)
    a, b = leaf(r.standard_normal(sa)), leaf(r.standard_normal(sb))
    y = getattr(F, op)(a, b)
    assert y.shape == np.broadcast_shapes(sa, sb)
    g = r.standard_normal(y.shape)
    y.backward(g)
    ga = g if op == "add" else g * b.data
    np.testing.assert_allclose(a.grad, F.sum_to(ga, sa).data if ga.shape != sa else ga, atol=1e-12)
    assert a.grad.shape == sa and b.grad.shape == sb


@FAST
@given(broadcastable_pair())
def test_property_sum_to_is_adjoint_of_broadcast_to(shapes):
    small, big = sorted(shapes, key=lambda s: (len(s), int(np.prod(s))))
    if np.broadcast_shapes(small, big) != big:
        return
    r = np.random.default_rng(0)
    u, v = r.standard_normal(small), r.standard_normal(big)
    # <broadcast(u), v> == <u, sum_to(v)>
    lhs = np.sum(F.broadcast_to(u, big).data * v)
    rhs = np.sum(u * F.sum_to(v, small).data)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-12)


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), st.randoms(use_true_random=False))
def test_property_reshape_and_transpose_round_trip(shape, rnd):
    x = leaf(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    axes = list(range(len(shape)))
    rnd.shuffle(axes)
    y = F.transpose(F.reshape(F.transpose(x, axes), (-1,)), None)
    back = F.transpose(F.reshape(y, tuple(shape[a] for a in axes)), tuple(np.argsort(axes)))
    np.testing.assert_array_equal(back.data, x.data)
    g = np.random.default_rng(0).standard_normal(shape)
    back.backward(g)
    np.testing.assert_array_equal(x.grad, g)


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_property_getitem_grad_counts_every_pick(shape, data):
    # with upstream ones, grad_x[j] = number of times element j was picked (np.add.at semantics)
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)
                      | hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=4)))
    x = leaf(np.zeros(shape))
    y = F.getitem(x, index)
    assert y.shape == x.data[index].shape
    y.backward(np.ones(y.shape))
    counts = np.zeros(shape)
    np.add.at(counts, index, 1.0)
    np.testing.assert_array_equal(x.grad, counts)


def test_bug_grad_h_norms_rejects_out_of_range_layer():
    # layer % num_layers made layer=2 of a 2-layer LSTM silently return layer 0's record
    m = nn.LSTM(2, 3, num_layers=2, record_grad=True, rng=0)
    hs, _ = m(np.ones((2, 4, 2), np.float32))
    F.sum(hs).backward()
    np.testing.assert_array_equal(m.grad_h_norms(layer=-1), m.grad_h_norms(layer=1))
    for bad in (2, -3, 1.0):
        with pytest.raises(ConfigError, match="LSTM.grad_h_norms: layer must be"):
            m.grad_h_norms(layer=bad)
    with pytest.raises(ConfigError, match="LSTM.grad_h_norms: direction must be"):
        m.grad_h_norms(direction=1)


def test_bug_optimizer_step_rejects_grad_of_another_shape():
    # a hand-set (3,) grad on a (2, 3) parameter was broadcast into the update silently
    from glassnet import optim

    p = nn.Parameter(np.ones((2, 3), np.float32))
    p.grad = np.ones(3, np.float32)
    for make in (lambda: optim.SGD([p], lr=0.1), lambda: optim.Adam([p])):
        with pytest.raises(ShapeError, match=r"step: params\[0\].grad has shape \(3,\)"):
            make().step()
    np.testing.assert_array_equal(p.data, 1.0)
