"""Moving models and tensors between devices (the fake device on the CPU); files are always host arrays."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.backend import cupy_available, get_array_module, to_numpy
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
