"""The fake device: recognised by get_array_module, refuses every implicit trip to the host, allows the explicit one."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend
from glassnet.backend import array_module_for, get_array_module, register_array_module, to_device, to_numpy
from glassnet.errors import ConfigError
from glassnet.testing.fake_device import DeviceArray, HostFallbackError, fake_device, guard, is_device_array


@pytest.fixture
def x():
    return fake_device.asarray(np.arange(6.0).reshape(2, 3))


def test_get_array_module_recognises_device_arrays_and_tensors_of_them(x):
    assert type(x) is DeviceArray and is_device_array(x)
    assert get_array_module(x) is fake_device
    assert get_array_module(gn.Tensor(x)) is fake_device
    assert get_array_module(np.ones(2), x) is fake_device  # any device argument decides
    assert get_array_module(np.ones(2), gn.Tensor(np.ones(2)), 3.0) is np
    assert array_module_for(fake_device) is fake_device and array_module_for("cpu") is np


def test_results_stay_on_the_device_with_cupys_types(x):
    for y in (x + 1, 2.0 * x, x @ x.T, x.sum(), x.max(axis=0), x.mean(), x[0, 1], x[np.array([1, 0])], x.T.copy(),
              x.astype(np.float32), x > 2, x.argmax(), x.reshape(-1)[1:], fake_device.exp(x),
              fake_device.zeros((2, 2)), fake_device.add.reduce(x, axis=1), fake_device.where(x > 1, x, 0.0),
              fake_device.lib.stride_tricks.as_strided(x, (2, 2), x.strides)):
        assert type(y) is DeviceArray, type(y)
    assert x.sum().shape == () and x[0, 1].shape == ()  # 0-d arrays where NumPy gives scalars, as CuPy
    assert all(type(row) is DeviceArray for row in x)
    assert type(fake_device.nonzero(x)[0]) is DeviceArray and type(x.nonzero()[0]) is DeviceArray
    assert fake_device.float32 is np.float32 and fake_device.inf == np.inf and fake_device.ndarray is DeviceArray


def test_in_place_ufuncs_and_setitem_write_the_device_array(x):
    fake_device.add.at(x, fake_device.asarray([0, 0]), 1.0)  # row 0 picked twice: +2
    x[1] = fake_device.asarray([7.0, 8.0, 9.0])
    x[:, 0] *= 2
    fake_device.clip(x, 0.0, 8.0, out=x)
    np.testing.assert_array_equal(to_numpy(x), [[4.0, 3.0, 4.0], [8.0, 8.0, 8.0]])
    out = fake_device.zeros((2, 3))
    assert fake_device.add(x, 1.0, where=x > 4, out=out) is out  # where= and out= stay on the device
    assert np.multiply(x, 2.0, where=x > 4, out=out) is out
    np.testing.assert_array_equal(to_numpy(out), [[0.0, 0.0, 0.0], [16.0, 16.0, 16.0]])


@pytest.mark.parametrize("convert", [
    lambda x: np.asarray(x),
    lambda x: np.array(x),
    lambda x: np.asanyarray(x),
    lambda x: np.ascontiguousarray(x),
    lambda x: np.array([x, x]),
    lambda x: x.__array__(),
    lambda x: x.tolist(),
    lambda x: np.concatenate([x, x]),
    lambda x: np.zeros_like(x),
    lambda x: np.where(x > 1, x, 0),
    lambda x: np.shape(x),
    lambda x: np.pad(x, 1),
    lambda x: np.save("unused.npy", x),
    lambda x: x + np.ones(3),
    lambda x: np.ones(3) * x,
    lambda x: fake_device.exp(np.ones(3)),
    lambda x: fake_device.add.at(x, np.array([0]), 1.0),
    lambda x: x.dot(np.ones(3)),
    lambda x: x.__setitem__(0, np.ones(3)),
], ids=["asarray", "array", "asanyarray", "ascontiguousarray", "array_of_list", "__array__", "tolist", "concatenate",
        "zeros_like", "where", "shape", "pad", "save", "plus_host", "host_times", "xp_of_host", "add_at_host_index",
        "dot_host", "setitem_host"])
def test_every_implicit_host_conversion_raises(x, convert):
    with guard(), pytest.raises(HostFallbackError, match="fake device: .*get_array_module"):
        convert(x)


def test_guard_restores_numpy_and_passes_other_arguments_through(x):
    original = np.asarray
    with guard():
        assert np.asarray([1, 2]).tolist() == [1, 2]
        with pytest.raises(HostFallbackError):
            with guard():  # nested blocks restore in order, also on an error
                np.asarray(x)
        with pytest.raises(HostFallbackError):
            np.asarray(x)
    assert np.asarray is original
    assert type(np.asarray(x)) is np.ndarray  # outside guard NumPy takes any ndarray as it is: the limit


def test_the_explicit_path_and_scalars_are_allowed(x):
    with guard():
        host = to_numpy(x)
        assert type(host) is np.ndarray and host.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        host[0, 0] = 99.0  # a copy, as cupy.asnumpy
        assert float(x[0, 0]) == 0.0 and int(x.sum()) == 15 and bool((x >= 0).all()) and x[1, 2].item() == 5.0
        assert "DeviceArray" in repr(x) and "5." in str(x)
        assert type(gn.Tensor(x).numpy()) is np.ndarray
        assert type(to_device(host, fake_device)) is DeviceArray and to_device(x, fake_device) is x


def test_ufunc_results_defer_to_tensors(x):
    t = gn.Tensor(fake_device.ones((2, 3)))
    assert isinstance(x + t, gn.Tensor) and get_array_module(x + t) is fake_device
    with pytest.raises(HostFallbackError):  # a host Tensor meets device data inside the op
        x + gn.Tensor(np.ones((2, 3)))


def test_register_array_module_checks_its_arguments():
    with pytest.raises(ConfigError, match="array_type must be a type"):
        register_array_module("DeviceArray", fake_device)
    with pytest.raises(ConfigError, match="callable 'asarray'"):
        register_array_module(DeviceArray, np.random)
    register_array_module(DeviceArray, fake_device)  # registering again replaces, and keeps one entry
    assert sum(t is DeviceArray for t, _ in backend._DEVICE_MODULES) == 1


@pytest.mark.skipif(backend.cupy_available(), reason="CuPy is installed here")
def test_cuda_without_cupy_says_how_to_get_it():
    with pytest.raises(ConfigError, match="device 'cuda' needs CuPy, which is not installed"):
        array_module_for("cuda")
    with pytest.raises(ConfigError, match="needs CuPy"):
        gn.Tensor(np.ones(2)).to("cuda")
    with pytest.raises(ConfigError, match="got 'tpu'"):
        to_device(np.ones(2), "tpu")
    with pytest.raises(ConfigError, match="registered array module"):
        array_module_for(np.random)
