"""Convolution, pooling and normalisation: NumPy references, gradcheck, torch parity, and the known pitfalls."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
import glassnet.functional as F
import glassnet.functional.conv as conv_module
from glassnet.errors import ConfigError, DTypeError, ShapeError
from tests.helpers import Case, run_case


def normals(*shapes):
    return lambda r: [r.standard_normal(s) for s in shapes]


def np_conv2d(x, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The definition, one output at a time (slow, small inputs only)."""
    n, c, h, w = x.shape
    c_out, cg, kh, kw = W.shape
    s, p, d = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh = (h + 2 * p - d * (kh - 1) - 1) // s + 1
    ow = (w + 2 * p - d * (kw - 1) - 1) // s + 1
    y = np.zeros((n, c_out, oh, ow))
    per = c_out // groups
    for o in range(c_out):
        g = o // per
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg, i * s:i * s + d * (kh - 1) + 1:d, j * s:j * s + d * (kw - 1) + 1:d]
                y[:, o, i, j] = (patch * W[o]).sum(axis=(1, 2, 3)) + (b[o] if b is not None else 0.0)
    return y


def conv(stride=1, padding=0, dilation=1, groups=1):
    return (lambda x, W, b=None: F.conv2d(x, W, b, stride, padding, dilation, groups),
            lambda x, W, b=None: np_conv2d(x, W, b, stride, padding, dilation, groups),
            lambda x, W, b=None: TF.conv2d(x, W, b, stride, padding, dilation, groups))


def conv_t(stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return (lambda x, W, b=None: F.conv_transpose2d(x, W, b, stride, padding, output_padding, groups, dilation),
            None,
            lambda x, W, b=None: TF.conv_transpose2d(x, W, b, stride, padding, output_padding, groups, dilation))


def case(name, fns, inputs):
    fn, ref, tfn = fns
    return Case(name, fn, inputs, ref, tfn)


CASES = [
    case("conv_basic", conv(), normals((2, 3, 6, 5), (4, 3, 3, 3), (4,))),
    case("conv_no_bias", conv(), normals((2, 2, 5, 5), (3, 2, 2, 2))),
    case("conv_stride2_pad1_even", conv(2, 1), normals((2, 3, 8, 8), (4, 3, 3, 3), (4,))),
    case("conv_stride2_pad1_odd", conv(2, 1), normals((2, 3, 7, 7), (4, 3, 3, 3), (4,))),
    case("conv_stride2_unread_row", conv(2, 0), normals((2, 2, 8, 7), (3, 2, 3, 3), (3,))),
    case("conv_dilation2", conv(1, 2, 2), normals((2, 2, 7, 6), (3, 2, 3, 3), (3,))),
    case("conv_groups2", conv(1, 1, 1, 2), normals((2, 4, 5, 5), (6, 2, 3, 3), (6,))),
    case("conv_depthwise", conv(2, 1, 1, 3), normals((3, 3, 6, 6), (3, 1, 3, 3), (3,))),
    case("conv_1x1", conv(), normals((2, 5, 4, 3), (2, 5, 1, 1), (2,))),
    case("conv_batch1_size1", conv(), normals((1, 1, 3, 3), (1, 1, 3, 3), (1,))),
    case("convT_basic", conv_t(), normals((2, 3, 4, 5), (3, 4, 3, 3), (4,))),
    case("convT_stride2_pad1_op1", conv_t(2, 1, 1), normals((2, 3, 4, 4), (3, 2, 3, 3), (2,))),
    case("convT_dcgan_4x4_s2_p1", conv_t(2, 1), normals((2, 4, 3, 3), (4, 3, 4, 4), (3,))),
    case("convT_groups_dilation", conv_t(2, 1, 1, 2, 2), normals((2, 4, 3, 4), (4, 3, 3, 3), (6,))),
    Case("max_pool_2x2", lambda x: F.max_pool2d(x, 2), normals((2, 3, 6, 6)), None, lambda x: TF.max_pool2d(x, 2)),
    Case("max_pool_3s2p1", lambda x: F.max_pool2d(x, 3, 2, 1), normals((3, 2, 7, 8)), None,
         lambda x: TF.max_pool2d(x, 3, 2, 1)),
    Case("max_pool_ceil", lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), normals((2, 2, 8, 7)), None,
         lambda x: TF.max_pool2d(x, 3, 2, ceil_mode=True)),
    Case("max_pool_dilation", lambda x: F.max_pool2d(x, 2, 1, 0, 2), normals((2, 2, 6, 6)), None,
         lambda x: TF.max_pool2d(x, 2, 1, 0, 2)),
    Case("avg_pool_2x2", lambda x: F.avg_pool2d(x, 2), normals((2, 3, 6, 7)), None, lambda x: TF.avg_pool2d(x, 2)),
    Case("avg_pool_pad_include", lambda x: F.avg_pool2d(x, 3, 2, 1), normals((2, 2, 7, 7)), None,
         lambda x: TF.avg_pool2d(x, 3, 2, 1)),
    Case("avg_pool_pad_exclude", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), normals((2, 2, 7, 8)),
         None, lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
    Case("avg_pool_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), normals((2, 2, 8, 8)), None,
         lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
    Case("adaptive_avg_1", lambda x: F.adaptive_avg_pool2d(x, 1), normals((2, 3, 5, 4)), lambda x: x.mean(
        axis=(2, 3), keepdims=True), lambda x: TF.adaptive_avg_pool2d(x, 1)),
    Case("adaptive_avg_uneven", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), normals((2, 2, 7, 5)), None,
         lambda x: TF.adaptive_avg_pool2d(x, (3, 2))),
    Case("batch_norm_train_4d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         normals((3, 4, 3, 2), (4,), (4,)), None,
         lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True)),
    Case("batch_norm_train_2d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         normals((5, 3), (3,), (3,)), None, lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True)),
    Case("batch_norm_train_3d_no_affine", lambda x: F.batch_norm(x, None, None, training=True),
         normals((4, 2, 5)), None, lambda x: TF.batch_norm(x, None, None, training=True)),
    Case("lrn_5", lambda x: F.local_response_norm(x, 5, alpha=1e-2, beta=0.75, k=2.0), normals((2, 7, 3, 3)), None,
         lambda x: TF.local_response_norm(x, 5, alpha=1e-2, beta=0.75, k=2.0)),
    Case("lrn_even_size", lambda x: F.local_response_norm(x, 4, alpha=0.1, beta=0.5, k=1.0), normals((2, 6, 2, 3)),
         None, lambda x: TF.local_response_norm(x, 4, alpha=0.1, beta=0.5, k=1.0)),
    Case("lrn_size_above_channels", lambda x: F.local_response_norm(x, 9, alpha=0.3, k=1.5), normals((3, 4, 2, 2)),
         None, lambda x: TF.local_response_norm(x, 9, alpha=0.3, k=1.5)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_stride_2_inputs_of_7_and_8_both_give_4_outputs_and_their_own_input_gradient():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2, 1, 3, 3))
    for size in (7, 8):
        x = gn.Tensor(rng.standard_normal((2, 1, size, size)), requires_grad=True)
        y = F.conv2d(x, W, stride=2, padding=1)
        assert y.shape == (2, 2, 4, 4)
        y.sum().backward()
        tx = torch.tensor(x.data, requires_grad=True)
        TF.conv2d(tx, torch.tensor(W), stride=2, padding=1).sum().backward()
        assert x.grad.shape == (2, 1, size, size)
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), atol=1e-12)
    # at 8 without padding the last row and column are never read: their gradient is exactly 0
    x = gn.Tensor(rng.standard_normal((2, 1, 8, 8)), requires_grad=True)
    F.conv2d(x, W, stride=2).sum().backward()
    assert (x.grad[:, :, 7, :] == 0).all() and (x.grad[:, :, :, 7] == 0).all() and (x.grad[:, :, :7, :7] != 0).any()


def test_max_pool_ties_send_the_whole_gradient_to_the_first_position_per_window():
    x = gn.Tensor(np.ones((2, 1, 4, 4)), requires_grad=True)  # every window is one big tie
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((2, 1, 4, 4))
    expected[:, :, ::2, ::2] = 1.0  # the top-left of each window, as torch
    np.testing.assert_array_equal(x.grad, expected)
    tx = torch.ones((2, 1, 4, 4), dtype=torch.float64, requires_grad=True)
    TF.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_pooling_backward_keeps_samples_apart_at_batch_size_above_1():
    """A batch-size-1 test hid a pooling backward that mixed samples; each sample gets only its own gradient."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 6, 6))
    for pool in (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 3, 2, 1)):
        whole = gn.Tensor(x, requires_grad=True)
        g = rng.standard_normal(pool(whole).shape)
        pool(whole).backward(g)
        for n in range(3):
            one = gn.Tensor(x[n:n + 1], requires_grad=True)
            pool(one).backward(g[n:n + 1])
            np.testing.assert_allclose(whole.grad[n:n + 1], one.grad, atol=1e-14)


def test_ceil_mode_output_sizes_of_googlenet():
    size = conv_module.conv_output_size
    # GoogLeNet: 224 -conv7/2-> 112 -pool3/2 ceil-> 56 -> 28 -> 14 -> 7
    assert size(224, 7, 2, 3) == 112
    assert [size(s, 3, 2, 0, 1, True) for s in (112, 56, 28, 14)] == [56, 28, 14, 7]
    assert [size(s, 3, 2, 0, 1, False) for s in (112, 56, 28, 14)] == [55, 27, 13, 6]
    for h in range(5, 20):  # against torch, with padding, where the last window may start in the padding
        for p in (0, 1):
            got = F.max_pool2d(np.zeros((1, 1, h, h)), 3, 2, p, ceil_mode=True).shape[2]
            assert got == TF.max_pool2d(torch.zeros(1, 1, h, h), 3, 2, p, ceil_mode=True).shape[2], (h, p)


def test_batch_norm_on_images_keeps_per_channel_running_statistics_like_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 5, 5)) * 2 + 1
    mean, var = np.zeros(3), np.ones(3)
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        F.batch_norm(x, mean, var, training=True, momentum=0.1)
        TF.batch_norm(torch.tensor(x), t_mean, t_var, training=True, momentum=0.1)
    assert mean.shape == var.shape == (3,)  # per channel, not (C·H·W,)
    np.testing.assert_allclose(mean, t_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(var, t_var.numpy(), atol=1e-12)  # the unbiased variance, m / (m - 1)
    # evaluation uses the running statistics, and its gradient is the affine map's
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    xt = gn.Tensor(x, requires_grad=True)
    y = F.batch_norm(xt, mean, var, w, b, training=False)
    ty = TF.batch_norm(torch.tensor(x), t_mean, t_var, torch.tensor(w), torch.tensor(b), training=False)
    np.testing.assert_allclose(y.data, ty.numpy(), atol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(xt.grad, np.broadcast_to((w / np.sqrt(var + 1e-5))[None, :, None, None], x.shape),
                               atol=1e-12)


def test_a_residual_through_relu_keeps_both_gradient_paths():
    """y = x + relu(x): an in-place ReLU backward would corrupt the skip path's gradient."""
    x = gn.Tensor(np.array([[-1.0, 2.0], [3.0, -4.0]]), requires_grad=True)
    (x + F.relu(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 2.0], [2.0, 1.0]])


def test_lrn_uses_torchs_alpha_over_n_and_the_papers_constants_map_to_it():
    x = np.random.default_rng(3).standard_normal((2, 8, 3, 3))
    ours = F.local_response_norm(x, 5, alpha=5e-4, beta=0.75, k=2.0).data  # the paper's alpha 1e-4, times n = 5
    sq = np.pad(x ** 2, ((0, 0), (2, 2), (0, 0), (0, 0)))
    paper = x / (2.0 + 1e-4 * np.stack([sq[:, c:c + 5].sum(axis=1) for c in range(8)], axis=1)) ** 0.75
    np.testing.assert_allclose(ours, paper, atol=1e-12)


def test_im2col_in_chunks_gives_the_same_numbers_and_keeps_float32(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3, 9, 9)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((5, 4, 5, 5)).astype(np.float32)

    def run():  # stride 2: the im2col path, which chunks
        xt, Wt = gn.Tensor(x, requires_grad=True), gn.Tensor(W, requires_grad=True)
        y = F.conv2d(xt, Wt, stride=2, padding=1)
        y.backward(g)
        return y.data, xt.grad, Wt.grad

    whole = run()
    monkeypatch.setattr(conv_module, "IM2COL_BYTES", 2 * 25 * 27 * 4)  # two samples' columns at a time
    chunked = run()
    for a, b in zip(whole, chunked):
        assert b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_conv_transpose_is_the_adjoint_of_conv():
    rng = np.random.default_rng(5)
    u, W = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    v = rng.standard_normal((2, 4, 4, 4))
    lhs = (F.conv2d(u, W, stride=2, padding=1).data * v).sum()
    rhs = (u * F.conv_transpose2d(v, W, stride=2, padding=1).data).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


@pytest.mark.parametrize("call, error, text", [
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3))), ShapeError, "channels"),
    (lambda: F.conv2d(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3))), ShapeError, "x must be (N, C, H, W)"),
    (lambda: F.conv2d(np.zeros((1, 3, 2, 2)), np.zeros((2, 3, 3, 3))), ShapeError, "larger than the padded input"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), stride=0), ConfigError, "stride must be >= 1"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), padding=1.5), ConfigError, "padding"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5), np.float32), np.zeros((2, 3, 3, 3))), DTypeError,
     "got x float32, W float64"),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ShapeError, "divisible"),
    (lambda: F.conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((2, 2, 3, 3)), stride=2, output_padding=2),
     ConfigError, "output_padding"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), ConfigError, "at most half the kernel"),
    (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4)), 5), ShapeError, "larger than the padded input"),
    (lambda: F.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), 0), ConfigError, "output_size"),
    (lambda: F.batch_norm(np.zeros((1, 3)), None, None, training=True), ShapeError, "more than one value"),
    (lambda: F.batch_norm(np.zeros((2, 3)), None, None), ConfigError, "needs running_mean"),
    (lambda: F.batch_norm(np.zeros((2, 3)), np.zeros(4), np.ones(3)), ShapeError, "running_mean must be (C,)"),
    (lambda: F.local_response_norm(np.zeros((2, 3, 2, 2)), 0), ConfigError, "size must be an int >= 1"),
])
def test_bad_input_is_a_readable_error(call, error, text):
    with pytest.raises(error, match=None) as info:
        call()
    assert text in str(info.value)


@pytest.mark.parametrize("kernel, padding, dilation", [(3, 1, 1), (5, 2, 1), (3, 2, 2), (1, 0, 1), (2, 0, 1)])
def test_shifted_gemm_path_equals_im2col(monkeypatch, kernel, padding, dilation):
    """Stride-1 convolutions take kH·kW shifted GEMMs; the same numbers as im2col, forward and backward."""
    rng = np.random.default_rng(6)
    x, W, b = rng.standard_normal((2, 8, 16, 17)), rng.standard_normal((5, 8, kernel, kernel)), rng.standard_normal(5)
    g = None
    results = []
    for shifted in (True, False):
        monkeypatch.setattr(conv_module, "SHIFTED_GEMM", shifted)
        ts = [gn.Tensor(a, requires_grad=True) for a in (x, W, b)]
        y = F.conv2d(*ts, padding=padding, dilation=dilation)
        assert y.creator.shifted == (shifted and kernel * kernel <= 9)  # the path taken: 5x5 stays on im2col
        g = rng.standard_normal(y.shape) if g is None else g
        y.backward(g)
        results.append([y.data] + [t.grad for t in ts])
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, atol=1e-12)


def test_shifted_gemm_tiles_agree_with_one_tile(monkeypatch):
    """Column tiles (several, the last one ragged) give the same outputs and gradients as one whole-width tile."""
    rng = np.random.default_rng(7)
    x, W = rng.standard_normal((3, 8, 16, 17)), rng.standard_normal((5, 8, 3, 3))
    g = rng.standard_normal((3, 5, 16, 17))
    results = []
    for tile_bytes in (2**40, 8 * 256 * 8 + 1):  # one tile; 256-column tiles over 3·18·19 = 1026 columns
        monkeypatch.setattr(conv_module, "SHIFT_TILE_BYTES", tile_bytes)
        ts = [gn.Tensor(a, requires_grad=True) for a in (x, W)]
        y = F.conv2d(*ts, padding=1)
        assert y.creator.shifted
        y.backward(g)
        results.append([y.data] + [t.grad for t in ts])
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, atol=1e-12)
