"""Convolution, pooling and batch-norm layers against torch.nn on shared weights; buffers and modes."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.errors import ConfigError, ShapeError

torch.set_num_threads(1)


def test_conv2d_and_conv_transpose2d_layers_match_torch_on_shared_weights():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8))
    ours = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, rng=0).to(np.float64)
    ref = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).double()
    ours_t = nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1, rng=1).to(np.float64)
    ref_t = torch.nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1).double()
    with torch.no_grad():  # torch's weight layout is ours: no transpose
        ref.weight.copy_(torch.tensor(ours.W.data))
        ref.bias.copy_(torch.tensor(ours.b.data))
        ref_t.weight.copy_(torch.tensor(ours_t.W.data))
        ref_t.bias.copy_(torch.tensor(ours_t.b.data))
    xt = gn.Tensor(x, requires_grad=True)
    y = ours_t(ours(xt))
    tx = torch.tensor(x, requires_grad=True)
    ty = ref_t(ref(tx))
    g = rng.standard_normal(ty.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-10)
    for p, q in ((ours.W, ref.weight), (ours.b, ref.bias), (ours_t.W, ref_t.weight), (ours_t.b, ref_t.bias)):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-10)


def test_conv_init_has_torchs_bounds():
    layer = nn.Conv2d(8, 16, 3, rng=0)
    bound = 1 / np.sqrt(8 * 9)
    assert layer.W.shape == (16, 8, 3, 3) and layer.W.dtype == np.float32
    assert np.abs(layer.W.data).max() <= bound and np.abs(layer.W.data).max() > 0.9 * bound
    t = nn.ConvTranspose2d(8, 4, 4, rng=0)
    assert t.W.shape == (8, 4, 4, 4) and np.abs(t.W.data).max() <= 1 / np.sqrt(4 * 16)
    assert nn.Conv2d(8, 16, 3, rng=5).W.data.tolist() == nn.Conv2d(8, 16, 3, rng=5).W.data.tolist()


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_2d_trains_and_evaluates_like_torch_with_buffers_in_the_state_dict(momentum):
    rng = np.random.default_rng(1)
    ours = nn.BatchNorm2d(3, momentum=momentum).to(np.float64)
    ref = torch.nn.BatchNorm2d(3, momentum=momentum).double()
    ours.gamma.data[:] = ref.weight.data.numpy()[:] = rng.standard_normal(3)
    ours.beta.data[:] = ref.bias.data.numpy()[:] = rng.standard_normal(3)
    for step in range(3):
        x = rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step
        xt, tx = gn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(xt), ref(tx)
        g = rng.standard_normal(x.shape)
        y.backward(g)
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), atol=1e-10)
        ours.zero_grad()
        ref.zero_grad()
    state = ours.state_dict()
    assert {"running_mean", "running_var", "num_batches_tracked"} <= set(state)
    assert [n for n, _ in ours.named_parameters()] == ["gamma", "beta"]  # buffers are not parameters
    np.testing.assert_allclose(state["running_mean"], ref.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(state["running_var"], ref.running_var.numpy(), atol=1e-12)
    assert int(state["num_batches_tracked"]) == int(ref.num_batches_tracked) == 3
    ours.eval()
    ref.eval()
    x = rng.standard_normal((2, 3, 5, 5))
    np.testing.assert_allclose(ours(x).data, ref(torch.tensor(x)).detach().numpy(), atol=1e-10)
    # a fresh layer loaded from the state dict evaluates the same
    other = nn.BatchNorm2d(3).to(np.float64)
    other.load_state_dict(state)
    other.eval()
    np.testing.assert_allclose(other(x).data, ours(x).data, atol=0)


def test_batch_norm_1d_takes_2d_and_3d_input_and_refuses_other_shapes():
    rng = np.random.default_rng(2)
    layer = nn.BatchNorm1d(4).to(np.float64)
    ref = torch.nn.BatchNorm1d(4).double()
    for shape in ((6, 4), (3, 4, 5)):
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(layer(x).data, ref(torch.tensor(x)).detach().numpy(), atol=1e-10)
    with pytest.raises(ShapeError, match=r"BatchNorm1d: x must be \(N, C\) or \(N, C, L\) with C == 4"):
        layer(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="BatchNorm2d"):
        nn.BatchNorm2d(4)(np.zeros((2, 4)))
    with pytest.raises(ConfigError, match="momentum"):
        nn.BatchNorm2d(4, momentum=2.0)


def test_pooling_and_lrn_layers_match_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 9, 9))
    pairs = [
        (nn.MaxPool2d(3, 2, ceil_mode=True), torch.nn.MaxPool2d(3, 2, ceil_mode=True)),
        (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
        (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3))),
        (nn.LocalResponseNorm(5, 1e-3, 0.75, 2.0), torch.nn.LocalResponseNorm(5, 1e-3, 0.75, 2.0)),
    ]
    for ours, ref in pairs:
        np.testing.assert_allclose(ours(x).data, ref(torch.tensor(x)).numpy(), atol=1e-12, err_msg=repr(ours))
    with pytest.raises(ConfigError, match="kernel_size"):
        nn.MaxPool2d(0)


def test_conv_layer_refuses_wrong_channels_and_bad_groups():
    with pytest.raises(ShapeError, match=r"Conv2d: x must be \(N, C_in, H, W\) with C_in == 3"):
        nn.Conv2d(3, 4, 3)(np.zeros((1, 2, 5, 5), np.float32))
    with pytest.raises(ConfigError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_unflatten_is_the_inverse_of_flatten_as_torch():
    x = np.arange(24, dtype=np.float64).reshape(2, 12)
    y = nn.Unflatten((3, 2, 2))(x)
    np.testing.assert_array_equal(y.data, torch.nn.Unflatten(1, (3, 2, 2))(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(nn.Flatten()(y).data, x)
    with pytest.raises(ShapeError, match=r"Unflatten: x must be \(N, 12, ...\)"):
        nn.Unflatten((3, 2, 2))(np.zeros((2, 10)))
    with pytest.raises(ConfigError, match="Unflatten"):
        nn.Unflatten((3, 0))
