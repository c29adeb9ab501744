"""Moving models and tensors between devices (the fake device on the CPU); files are always host arrays."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.backend import cupy_available, get_array_module, to_device, to_numpy
from glassnet.errors import ConfigError
from glassnet.testing.fake_device import DeviceArray, fake_device, guard
from glassnet.train import Checkpoint, load, load_checkpoint, save, save_checkpoint
from tests.helpers import cupy_or_skip


def _net():
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, rng=1))
    net[0].W.grad = np.ones((3, 4), dtype=np.float32)
    return net


def _on(net, xp):
    return [get_array_module(a) is xp for a in (*(p.data for p in net.parameters()), *net.buffers())]


def test_module_to_moves_parameters_gradients_and_buffers_and_back():
    net = _net()
    params = list(net.parameters())
    before = net.state_dict()
    assert net.to(fake_device) is net
    assert all(_on(net, fake_device)) and type(net[0].W.grad) is DeviceArray
    assert all(p is q for p, q in zip(params, net.parameters()))  # the same objects: an optimizer keeps working
    assert net[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    with guard():
        y = net(fake_device.ones((5, 3), dtype=np.float32))
    assert type(y.data) is DeviceArray
    net.to("cpu")
    assert all(_on(net, np)) and type(net[0].W.grad) is np.ndarray
    after = net.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before if not k.startswith("1."))  # batch norm stepped
    assert net.to("cpu").to(np.float64) is net and net[0].W.dtype == np.float64


def test_module_to_refuses_unknown_devices():
    with pytest.raises(ConfigError, match="registered array module"):
        _net().to(np.random)
    if not cupy_available():
        with pytest.raises(ConfigError, match="device 'cuda' needs CuPy, which is not installed"):
            _net().to("cuda")


def test_tensor_to_is_a_differentiable_copy():
    x = gn.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    assert x.to("cpu") is x
    with guard():
        y = x.to(fake_device)
        assert type(y.data) is DeviceArray and y.creator is not None
        (y * y).sum().backward()
        z = y.to("cpu")
    assert type(x.grad) is np.ndarray and x.grad.tolist() == [2.0, 4.0, 6.0]  # dL/dx = 2x, back on the host
    assert type(z.data) is np.ndarray
    d = gn.Tensor(fake_device.ones(2), requires_grad=True)
    d.to("cpu").sum().backward()
    assert type(d.grad) is DeviceArray  # the gradient goes back to the device of the input


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_writes_host_arrays_and_load_goes_to_either_device(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    net = _net().to(fake_device)
    state = net.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    with guard():
        path = save(net, tmp_path / f"net{suffix}")  # a Module
        save({k: p.data for k, p in net.named_parameters()}, tmp_path / f"raw{suffix}")  # a dict of device arrays
        on_device = load(path, device=fake_device)
        host = load(path)
        raw = load(tmp_path / f"raw{suffix}")
    assert all(type(v) is DeviceArray for v in on_device.values())
    assert all(type(v) is np.ndarray for v in host.values())
    assert all(np.array_equal(host[k], state[k]) and np.array_equal(raw[k], state[k]) for k in raw)
    with guard():
        moved = _net().to(fake_device)
        moved.load_state_dict(host)  # host arrays go to each target's device
        assert all(_on(moved, fake_device))
    back = _net()
    back.load_state_dict(on_device)  # device arrays come to the host model
    assert all(_on(back, np))
    assert all(np.array_equal(v, state[k]) for k, v in back.state_dict().items())


def test_checkpoint_of_a_device_model_is_host_and_resumes_on_the_device(tmp_path):
    net = _net().to(fake_device)
    with guard():
        save_checkpoint(tmp_path / "ckpt.npz", Checkpoint(model=net.state_dict(), epoch=1, step=3))
    ckpt = load_checkpoint(tmp_path / "ckpt.npz")
    assert all(type(v) is np.ndarray for v in ckpt.model.values())
    resumed = _net().to(fake_device)
    resumed.load_state_dict(ckpt.model)
    assert all(_on(resumed, fake_device))
    np.testing.assert_array_equal(to_numpy(resumed[3].W.data), to_numpy(net[3].W.data))


@pytest.mark.gpu
def test_module_and_tensor_to_cuda_and_back():
    cupy = cupy_or_skip()
    net = _net().to("cuda")
    assert all(_on(net, cupy))
    y = net(cupy.ones((5, 3), dtype=np.float32))
    assert get_array_module(y) is cupy
    x = gn.Tensor(np.ones(3), requires_grad=True)
    (x.to("cuda") * 2.0).sum().backward()
    assert type(x.grad) is np.ndarray and x.grad.tolist() == [2.0, 2.0, 2.0]
    assert all(_on(net.to("cpu"), np))


_R = np.random.default_rng(0)
_SEQ, _IMG = _R.standard_normal((2, 4, 3)), _R.standard_normal((2, 4, 6, 6))
# name -> (layer, input); every layer of glassnet.nn, in train and in eval mode
LAYERS = {
    "linear": (lambda: nn.Linear(3, 2, rng=0), _SEQ),
    "embedding_padding": (lambda: nn.Embedding(5, 3, padding_idx=0, rng=0), np.array([[0, 1, 4], [2, 0, 3]])),
    "dropout": (lambda: nn.Dropout(0.5, rng=0), _SEQ),
    **{name: (cls, _SEQ) for name, cls in (("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("sigmoid", nn.Sigmoid),
                                            ("tanh", nn.Tanh), ("softmax", nn.Softmax), ("log_softmax", nn.LogSoftmax),
                                            ("flatten", nn.Flatten))},
    "unflatten": (lambda: nn.Unflatten((2, 3)), _R.standard_normal((2, 6))),
    "rnn_bidirectional_stateful": (lambda: nn.RNN(3, 2, num_layers=2, dropout=0.3, bidirectional=True, stateful=True,
                                                  rng=0), _SEQ),
    "lstm_peephole_recorded": (lambda: nn.LSTM(3, 2, peephole=True, record_grad=True, rng=0), _SEQ),
    "gru_reset_before": (lambda: nn.GRU(3, 2, bidirectional=True, reset_after=False, rng=0), _SEQ),
    "conv2d_groups_dilation": (lambda: nn.Conv2d(4, 4, 3, stride=2, padding=2, dilation=2, groups=2, rng=0), _IMG),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, rng=0), _IMG),
    "max_pool2d_ceil": (lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True), _IMG),
    "avg_pool2d": (lambda: nn.AvgPool2d(2), _IMG),
    "adaptive_avg_pool2d": (lambda: nn.AdaptiveAvgPool2d(4), _IMG),
    "batch_norm1d": (lambda: nn.BatchNorm1d(3), _R.standard_normal((5, 3))),
    "batch_norm2d": (lambda: nn.BatchNorm2d(4), _IMG),
    "local_response_norm": (lambda: nn.LocalResponseNorm(3), _IMG),
}


def _forward_backward(name, device, training):
    make, x = LAYERS[name]
    layer = make()
    layer.to(np.float64).to(device).train(training)
    x = gn.Tensor(to_device(x, device), requires_grad=x.dtype.kind == "f")
    y = layer(x)
    y = y[0] if isinstance(y, tuple) else y
    y.backward(to_device(np.random.default_rng(1).standard_normal(y.shape), device))
    return layer, x, y


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_runs_on_the_fake_device_as_on_the_host(name, training):
    host_layer, host_x, host_y = _forward_backward(name, "cpu", training)
    with guard():
        layer, x, y = _forward_backward(name, fake_device, training)
        if name == "lstm_peephole_recorded":
            np.testing.assert_allclose(layer.grad_h_norms(0), host_layer.grad_h_norms(0), rtol=1e-12)
    assert type(y.data) is DeviceArray
    np.testing.assert_allclose(to_numpy(y.data), host_y.data, rtol=1e-12, atol=1e-14)
    if x.requires_grad:
        assert type(x.grad) is DeviceArray
        np.testing.assert_allclose(to_numpy(x.grad), host_x.grad, rtol=1e-10, atol=1e-12)
    for (k, p), (_, q) in zip(layer.named_parameters(), host_layer.named_parameters()):
        assert type(p.grad) is DeviceArray, f"{name}: grad of {k} on the host"
        np.testing.assert_allclose(to_numpy(p.grad), q.grad, rtol=1e-10, atol=1e-12, err_msg=f"{name}: {k}")
    assert all(_on(layer, fake_device))


def test_tensor_tolist_and_numpy_take_the_explicit_path():
    t = gn.Tensor(fake_device.asarray([[1.0, 2.0]]))
    with guard():
        assert t.tolist() == [[1.0, 2.0]] and type(t.numpy()) is np.ndarray and t.sum().item() == 3.0
        assert "DeviceArray" in repr(t)


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_to_moves_and_casts_a_stateful_layers_carried_state(cell):
    """The carried h (and c) follows Module.to: a dtype cast and a device move, then back to the host."""
    layer = getattr(nn, cell)(3, 4, stateful=True, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    layer(x)
    layer.to(np.float64)
    assert all(s.data.dtype == np.float64 for s in layer._state)
    out64 = layer(x.astype(np.float64))[0]
    assert out64.dtype == np.float64
    layer.to(fake_device)
    with guard():
        layer(fake_device.asarray(x.astype(np.float64)))
        assert all(get_array_module(s.data) is fake_device for s in layer._state)
    layer.to("cpu")
    assert all(get_array_module(s.data) is np for s in layer._state)
    layer(x.astype(np.float64))
