"""Every optimizer's step, both gradient clippings and the optimizer state dict on the fake device.

Three steps on the device must equal three steps on the host, and the parameters and every
state slot must stay on the device (inside ``fake_device.guard()``, so any NumPy call on device
data raises). As torch, ``Module.to`` does not move optimizer state; ``load_state_dict`` puts
each slot on its parameter's device.
"""

import numpy as np
import pytest

from glassnet import nn
from glassnet.backend import get_array_module, to_device, to_numpy
from glassnet.optim import SGD, AdaGrad, Adam, RMSprop, clip_grad_norm_, clip_grad_value_
from glassnet.testing.fake_device import fake_device, guard
from tests.helpers import cupy_or_skip

OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd_momentum_decay": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda ps: AdaGrad(ps, lr=0.1),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01),
    "adam": lambda ps: Adam(ps, lr=0.01),
    "adam_decay": lambda ps: Adam(ps, lr=0.01, weight_decay=0.1),
}
GRADS = [np.random.default_rng(k).standard_normal((3, 4)) for k in range(3)]


def _run(name, device, clip=None):
    layer = nn.Linear(4, 3, rng=0).to(np.float64).to(device)
    opt = OPTIMIZERS[name](list(layer.parameters()))
    for g in GRADS:
        layer.W.grad = to_device(g.T.copy(), device)  # (D, H) = (4, 3)
        layer.b.grad = to_device(g[:, 0].copy(), device)
        if clip == "norm":
            clip_grad_norm_(layer.parameters(), 1.0)
        elif clip == "value":
            clip_grad_value_(layer.parameters(), 0.5)
        opt.step()
    return layer, opt


@pytest.mark.parametrize("clip", [None, "norm", "value"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_on_the_fake_device_equal_the_host_steps(name, clip):
    host, _ = _run(name, "cpu", clip)
    with guard():
        layer, opt = _run(name, fake_device, clip)
    for p, q in zip(layer.parameters(), host.parameters()):
        assert get_array_module(p.data) is fake_device
        np.testing.assert_array_equal(to_numpy(p.data), q.data)
    for state in opt.state:
        for k, v in state.items():
            assert k == "step" or get_array_module(v) is fake_device, f"{name}: slot {k} on the host"


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_on_cupy_match_the_host_steps(name):
    cupy = cupy_or_skip()
    host, _ = _run(name, "cpu", "norm")
    layer, opt = _run(name, cupy, "norm")
    for p, q in zip(layer.parameters(), host.parameters()):
        assert get_array_module(p.data) is cupy
        np.testing.assert_allclose(to_numpy(p.data), q.data, rtol=1e-12, atol=1e-14)
    assert all(get_array_module(v) is cupy for s in opt.state for k, v in s.items() if k != "step")


def test_state_dict_is_host_and_loads_onto_the_parameters_device():
    layer, opt = _run("adam", fake_device)
    saved = opt.state_dict()
    assert all(type(v) is np.ndarray for k, v in saved.items() if k.endswith(("exp_avg", "exp_avg_sq")))
    host_layer = nn.Linear(4, 3, rng=0).to(np.float64)
    host_opt = Adam(list(host_layer.parameters()), lr=0.01)
    host_opt.load_state_dict(saved)
    assert all(type(v) is np.ndarray for s in host_opt.state for k, v in s.items() if k != "step")
    with guard():
        moved = nn.Linear(4, 3, rng=0).to(np.float64).to(fake_device)
        moved_opt = Adam(list(moved.parameters()), lr=0.01)
        moved_opt.load_state_dict(saved)
    assert all(get_array_module(v) is fake_device for s in moved_opt.state for k, v in s.items() if k != "step")
    np.testing.assert_array_equal(to_numpy(moved_opt.state[0]["exp_avg"]), host_opt.state[0]["exp_avg"])


def test_module_to_leaves_optimizer_state_where_it_was_as_torch():
    layer, opt = _run("adam", "cpu")
    layer.to(fake_device)
    assert get_array_module(layer.W.data) is fake_device
    assert type(opt.state[0]["exp_avg"]) is np.ndarray  # not moved: build the optimizer after .to(...)
