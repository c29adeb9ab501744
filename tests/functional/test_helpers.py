"""Public helpers of glassnet.functional that no op test names directly.

Axis validation (``_axis``), array-level activation helpers, dtype promotion,
the negative-sampling array helpers, and one step of each recurrent cell
against torch's RNNCell / LSTMCell / GRUCell on copied weights.
"""

import warnings

import numpy as np
import pytest
from scipy import special

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional._axis import normalize_axes, normalize_axis
from glassnet.functional.activation import log_softmax_array, require_float, sigmoid_array
from glassnet.functional.arithmetic import promote_to_float
from glassnet.functional.negative_sampling import (
    negative_sampling_grad_scores,
    negative_sampling_losses,
    negative_sampling_scores,
)
from glassnet.testing import check_parity, gradcheck
from tests.helpers import torch, torch_reference


# ------------------------------------------------------------ _axis
@pytest.mark.parametrize(("axis", "expected"), [(0, 0), (2, 2), (-1, 2), (-3, 0), (np.int64(-2), 1)])
def test_normalize_axis_counts_negative_axes_from_the_end(axis, expected):
    a = normalize_axis("sum", axis, 3)
    assert a == expected and type(a) is int


@pytest.mark.parametrize(("axis", "ndim", "message"), [
    (3, 3, "sum: axis 3 is out of range for 3 dimensions (valid: -3 to 2)"),
    (-4, 3, "sum: axis -4 is out of range for 3 dimensions (valid: -3 to 2)"),
    (0, 0, "sum: axis 0 is out of range for 0 dimensions"),
])
def test_normalize_axis_rejects_out_of_range(axis, ndim, message):
    with pytest.raises(ShapeError) as err:
        normalize_axis("sum", axis, ndim)
    assert message in str(err.value)


@pytest.mark.parametrize(("axis", "typename"), [(1.0, "float"), ("0", "str"), (None, "NoneType"), ((0,), "tuple")])
def test_normalize_axis_rejects_non_integers(axis, typename):
    with pytest.raises(ConfigError, match=f"^sum: axis must be an integer, got {typename}$"):
        normalize_axis("sum", axis, 3)


def test_normalize_axis_names_the_argument():
    with pytest.raises(ShapeError, match=r"^cat: dim 5 is out of range for 2 dimensions \(valid: -2 to 1\)$"):
        normalize_axis("cat", 5, 2, arg="dim")
    with pytest.raises(ConfigError, match="^cat: dim must be an integer, got float$"):
        normalize_axis("cat", 0.5, 2, arg="dim")


@pytest.mark.parametrize(("axis", "expected"), [
    (None, (0, 1, 2)),
    (-1, (2,)),
    ([-1, 0], (0, 2)),
    ((2, -2), (1, 2)),
    ((), ()),
])
def test_normalize_axes_returns_sorted_distinct_non_negative_axes(axis, expected):
    assert normalize_axes("mean", axis, 3) == expected


def test_normalize_axes_rejects_bad_axes():
    with pytest.raises(ConfigError, match=r"^mean: axis \(0, -3\) repeats an axis$"):
        normalize_axes("mean", (0, -3), 3)
    with pytest.raises(ConfigError, match=r"^mean: axis \(1, 1\) repeats an axis$"):
        normalize_axes("mean", [1, 1], 3)
    with pytest.raises(ShapeError, match="^mean: axis 3 is out of range for 3 dimensions"):
        normalize_axes("mean", (0, 3), 3)
    with pytest.raises(ConfigError, match="^mean: axis must be an integer, got float$"):
        normalize_axes("mean", (0, 1.5), 3)
    with pytest.raises(ConfigError, match="^mean: axis must be an integer, got str$"):
        normalize_axes("mean", "0", 3)


# ------------------------------------------------------------ activation helpers
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_require_float_rejects_non_float(dtype):
    t = gn.Tensor(np.zeros(3, dtype=dtype))
    message = rf"^relu: x must be a float array \(float32 or float64\), got dtype {np.dtype(dtype)}$"
    with pytest.raises(DTypeError, match=message):
        require_float("relu", "x", t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_require_float_accepts_float(dtype):
    assert require_float("relu", "x", gn.Tensor(np.zeros((2, 3), dtype=dtype))) is None


def test_sigmoid_array_equals_expit_over_minus_1000_to_1000_silently():
    x = np.linspace(-1000.0, 1000.0, 200_001)  # step 0.01, includes 0 and ±1000
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        y = sigmoid_array(x)
    assert y.dtype == np.float64 and y.shape == x.shape
    # a few ulps apart everywhere, also deep in the left tail (relative); below the smallest normal
    # float64 (x < -708.4) expit flushes to 0 where ours keeps a subnormal, hence atol = tiny
    np.testing.assert_allclose(y, special.expit(x), rtol=1e-15, atol=np.finfo(np.float64).tiny)
    assert y[0] == 0.0 and y[-1] == 1.0 and y[100_000] == 0.5


def test_sigmoid_array_keeps_shape_and_float32():
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32) * 50
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        y = sigmoid_array(x)
    assert y.dtype == np.float32 and y.shape == (3, 4, 5)
    # below the smallest normal float32 (x < -87.3) the value underflows: atol = float32 tiny
    np.testing.assert_allclose(y, special.expit(x.astype(np.float64)), rtol=1e-6, atol=np.finfo(np.float32).tiny)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_log_softmax_array_equals_scipy(axis):
    x = np.random.default_rng(1).standard_normal((4, 7, 5)) * 3
    y = log_softmax_array(x, axis=axis)
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_allclose(y, special.log_softmax(x, axis=axis), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(np.exp(y).sum(axis=axis), 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_array_is_finite_at_plus_minus_1e4(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        y = log_softmax_array(x)
    assert y.dtype == dtype and np.all(np.isfinite(y))
    ref = special.log_softmax(x.astype(np.float64), axis=-1)
    np.testing.assert_allclose(y, ref, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)
    assert y[0, 0] == 0.0 and y[0, 1] == dtype(-2e4)
    np.testing.assert_allclose(y[1], -np.log(3.0), rtol=1e-6)


def test_log_softmax_array_on_an_empty_axis_returns_a_copy():
    x = np.zeros((3, 0))
    y = log_softmax_array(x)
    assert y.shape == (3, 0) and y is not x


# ------------------------------------------------------------ promote_to_float
@pytest.mark.parametrize(("other", "fl", "expected"), [
    (np.int64, np.float32, np.float32),
    (np.int32, np.float32, np.float32),
    (np.uint8, np.float32, np.float32),
    (np.bool_, np.float32, np.float32),
    (np.int64, np.float64, np.float64),
    (np.bool_, np.float64, np.float64),
])
def test_promote_to_float_casts_int_and_bool_to_the_float_operand(other, fl, expected):
    a = gn.Tensor(np.array([1, 0, 1]).astype(other))
    b = gn.Tensor(np.array([0.5, 1.5, 2.5], dtype=fl), requires_grad=True)
    for pair in ((a, b), (b, a)):
        out = promote_to_float(*pair)
        assert [t.dtype for t in out] == [np.dtype(expected)] * 2
    pa, pb = promote_to_float(a, b)
    assert pb is b  # the float operand is untouched
    assert not pa.requires_grad
    np.testing.assert_array_equal(pa.data, np.array([1, 0, 1], dtype=expected))


def test_promote_to_float_uses_the_first_float_and_leaves_floats_alone():
    i = gn.Tensor(np.arange(3))
    f32 = gn.Tensor(np.ones(3, np.float32))
    f64 = gn.Tensor(np.ones(3, np.float64))
    pi, p32, p64 = promote_to_float(i, f32, f64)
    assert (pi.dtype, p32.dtype, p64.dtype) == (np.float32, np.float32, np.float64)
    assert p32 is f32 and p64 is f64
    assert promote_to_float(i, f64, f32)[0].dtype == np.float64


def test_promote_to_float_without_a_float_changes_nothing():
    i = gn.Tensor(np.arange(3))
    b = gn.Tensor(np.array([True, False, True]))
    out = promote_to_float(i, b)
    assert out[0] is i and out[1] is b


def test_int_operand_keeps_a_float32_op_in_float32():
    x = gn.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = F.mul(x, gn.Tensor(np.array([3, 4])))
    assert y.dtype == np.float32
    y.backward(np.ones(2, np.float32))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ------------------------------------------------------------ negative sampling helpers
def _ns_inputs(dtype=np.float64, seed=0, N=4, k=5, E=6):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, E)).astype(dtype), rng.standard_normal((N, 1 + k, E)).astype(dtype)


def test_negative_sampling_scores_equal_einsum():
    h, rows = _ns_inputs()
    s = negative_sampling_scores(h, rows)
    assert s.shape == (4, 6) and s.dtype == np.float64
    np.testing.assert_allclose(s, np.einsum("ne,nje->nj", h, rows), rtol=0, atol=1e-13)
    h32, rows32 = _ns_inputs(np.float32)
    assert negative_sampling_scores(h32, rows32).dtype == np.float32


def test_negative_sampling_losses_equal_minus_log_sigmoid():
    h, rows = _ns_inputs(seed=1)
    s = negative_sampling_scores(h, rows) * 3
    l = negative_sampling_losses(np, s)
    assert l.shape == (4,)
    expected = -np.log(special.expit(s[:, 0])) - np.log(special.expit(-s[:, 1:])).sum(axis=1)
    np.testing.assert_allclose(l, expected, rtol=1e-13, atol=0)


def test_negative_sampling_losses_finite_for_huge_scores():
    s = np.array([[-1e4, 1e4, -1e4], [1e4, -1e4, 1e4]])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        l = negative_sampling_losses(np, s)
    np.testing.assert_array_equal(l, [2e4, 1e4])


def test_negative_sampling_grad_scores_equals_central_difference():
    h, rows = _ns_inputs(seed=2)
    s = negative_sampling_scores(h, rows) * 2
    s_before = s.copy()
    g = negative_sampling_grad_scores(s)
    np.testing.assert_array_equal(s, s_before)  # the scores are not modified in place
    assert g.shape == s.shape and g.dtype == s.dtype
    eps = 1e-6
    num = np.zeros_like(s)
    for idx in np.ndindex(*s.shape):
        sp, sm = s.copy(), s.copy()
        sp[idx] += eps
        sm[idx] -= eps
        # loss n depends only on row n: d(Σ_n l_n)/d s[n, j]
        num[idx] = (negative_sampling_losses(np, sp).sum() - negative_sampling_losses(np, sm).sum()) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=0, atol=1e-8)
    # and the closed form σ(s) - y
    y = np.zeros_like(s)
    y[:, 0] = 1
    np.testing.assert_allclose(g, special.expit(s) - y, rtol=0, atol=1e-15)


# ------------------------------------------------------------ recurrent cells vs torch
N_, D_, H_ = 3, 4, 5


def _cell_inputs(G, b_shape, seed, with_c=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_, D_))
    h = rng.standard_normal((N_, H_)) * 0.5
    c = [rng.standard_normal((N_, H_)) * 0.5] if with_c else []
    W_x = rng.standard_normal((D_, G * H_)) * 0.4
    W_h = rng.standard_normal((H_, G * H_)) * 0.4
    b = rng.standard_normal(b_shape) * 0.3
    return [x, h, *c, W_x, W_h, b]


def _torch_params(W_x, W_h, b_ih, b_hh):
    # ours: W_x (D, G·H), W_h (H, G·H); torch stores weight_ih (G·H, D), weight_hh (G·H, H)
    return {"weight_ih": W_x.T, "weight_hh": W_h.T, "bias_ih": b_ih, "bias_hh": b_hh}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_torch_rnncell(nonlinearity):
    cell = torch.nn.RNNCell(D_, H_, nonlinearity=nonlinearity, dtype=torch.float64)

    def torch_fn(x, h, W_x, W_h, b):
        params = _torch_params(W_x, W_h, b, torch.zeros_like(b))  # our single b is b_ih + b_hh
        return torch.func.functional_call(cell, params, (x, h))

    inputs = _cell_inputs(1, (H_,), seed=10)
    check_parity(lambda *t: F.rnn_cell(*t, nonlinearity=nonlinearity), torch_reference(torch_fn), inputs,
                 atol=1e-10, seed=11)


def test_lstm_cell_matches_torch_lstmcell():
    cell = torch.nn.LSTMCell(D_, H_, dtype=torch.float64)

    def torch_fn(x, h, c, W_x, W_h, b):
        h1, c1 = torch.func.functional_call(cell, _torch_params(W_x, W_h, b, torch.zeros_like(b)), (x, (h, c)))
        return h1, c1

    inputs = _cell_inputs(4, (4 * H_,), seed=20, with_c=True)
    check_parity(F.lstm_cell, torch_reference(torch_fn), inputs, atol=1e-10, seed=21)


def test_gru_cell_reset_after_matches_torch_grucell():
    cell = torch.nn.GRUCell(D_, H_, dtype=torch.float64)

    def torch_fn(x, h, W_x, W_h, b):
        return torch.func.functional_call(cell, _torch_params(W_x, W_h, b[0], b[1]), (x, h))

    inputs = _cell_inputs(3, (2, 3 * H_), seed=30)
    check_parity(F.gru_cell, torch_reference(torch_fn), inputs, atol=1e-10, seed=31)


def _sig(a):
    return 1 / (1 + np.exp(-a))


def test_gru_cell_reset_before_matches_numpy_and_gradcheck():
    x, h, W_x, W_h, b = _cell_inputs(3, (3 * H_,), seed=40)
    H = H_
    xw = x @ W_x + b
    r = _sig(xw[:, :H] + h @ W_h[:, :H])
    z = _sig(xw[:, H:2 * H] + h @ W_h[:, H:2 * H])
    n = np.tanh(xw[:, 2 * H:] + (r * h) @ W_h[:, 2 * H:])
    expected = (1 - z) * n + z * h
    out = F.gru_cell(x, h, W_x, W_h, b, reset_after=False)
    assert out.shape == (N_, H_) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-14)
    gradcheck(lambda *t: F.gru_cell(*t, reset_after=False), [x, h, W_x, W_h, b], seed=41)


def test_lstm_cell_peephole_matches_numpy_and_gradcheck():
    x, h, c, W_x, W_h, b = _cell_inputs(4, (4 * H_,), seed=50, with_c=True)
    p = np.random.default_rng(51).standard_normal((3, H_)) * 0.5
    H = H_
    a = x @ W_x + b + h @ W_h
    i = _sig(a[:, :H] + p[0] * c)
    f = _sig(a[:, H:2 * H] + p[1] * c)
    g = np.tanh(a[:, 2 * H:3 * H])
    c_t = f * c + i * g
    h_t = _sig(a[:, 3 * H:] + p[2] * c_t) * np.tanh(c_t)
    out_h, out_c = F.lstm_cell(x, h, c, W_x, W_h, b, peephole=p)
    np.testing.assert_allclose(out_h.data, h_t, rtol=0, atol=1e-14)
    np.testing.assert_allclose(out_c.data, c_t, rtol=0, atol=1e-14)
    gradcheck(lambda *t: F.lstm_cell(*t[:6], peephole=t[6]), [x, h, c, W_x, W_h, b, p], seed=52)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_cells_keep_float32(name):
    G, b_shape, with_c = {"rnn": (1, (H_,), False), "lstm": (4, (4 * H_,), True), "gru": (3, (2, 3 * H_), False)}[name]
    ts = [gn.Tensor(a.astype(np.float32), requires_grad=True) for a in _cell_inputs(G, b_shape, 60, with_c)]
    out = getattr(F, f"{name}_cell")(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    assert all(o.dtype == np.float32 and o.shape == (N_, H_) for o in outs)
    outs[0].backward(np.ones((N_, H_), np.float32))
    assert all(t.grad.dtype == np.float32 and t.grad.shape == t.shape for t in ts)


def test_normalize_axis_refuses_a_bool():
    from glassnet.functional._axis import normalize_axis

    with pytest.raises(ConfigError, match="axis must be an integer, got bool"):
        normalize_axis("sum", True, 2)
