"""Optimizers: parity with torch.optim over 20 steps, state round trips, bad input."""

import json

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.errors import ConfigError, ShapeError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

SHAPES = [(3, 4), (4,), (2, 1, 3)]


def initial_arrays(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def quadratic_grad(w, k):
    # gradient of sum(a/2 (w - c)² + w⁴/40): curved and coupled to w, so an
    # update-rule error changes the whole trajectory
    rng = np.random.default_rng(100 + k)
    a = rng.uniform(0.5, 3.0, w.shape)
    c = rng.standard_normal(w.shape)
    return a * (w - c) + 0.1 * w**3


# (glassnet factory, torch factory)
CONFIGS = {
    "sgd": (lambda p: optim.SGD(p, lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    "sgd_momentum": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "sgd_nesterov": (lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd_weight_decay": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.1),
                         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.1)),
    "sgd_plain_weight_decay": (lambda p: optim.SGD(p, lr=0.05, weight_decay=0.3),
                               lambda p: torch.optim.SGD(p, lr=0.05, weight_decay=0.3)),
    "adagrad": (lambda p: optim.AdaGrad(p, lr=0.1, eps=1e-10),
                lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10, initial_accumulator_value=0)),
    "adagrad_big_eps": (lambda p: optim.AdaGrad(p, lr=0.1, eps=0.5),
                        lambda p: torch.optim.Adagrad(p, lr=0.1, eps=0.5, initial_accumulator_value=0)),
    "rmsprop": (lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    "rmsprop_big_eps": (lambda p: optim.RMSprop(p, lr=0.01, alpha=0.99, eps=0.1),
                        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=0.1)),
    "adam": (lambda p: optim.Adam(p, lr=0.05), lambda p: torch.optim.Adam(p, lr=0.05)),
    "adam_betas_eps": (lambda p: optim.Adam(p, lr=0.05, betas=(0.5, 0.9), eps=0.1),
                       lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.5, 0.9), eps=0.1)),
    "adam_weight_decay": (lambda p: optim.Adam(p, lr=0.05, weight_decay=0.2),
                          lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.2)),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_parity_with_torch_on_a_quadratic(name):
    ours_factory, torch_factory = CONFIGS[name]
    ours = [nn.Parameter(a) for a in initial_arrays()]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial_arrays()]
    opt, topt = ours_factory(ours), torch_factory(theirs)
    for step in range(20):
        for k, (p, t) in enumerate(zip(ours, theirs)):
            p.grad = quadratic_grad(p.data, k)
            t.grad = torch.from_numpy(quadratic_grad(t.detach().numpy(), k))
        opt.step()
        topt.step()
        for k, (p, t) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-10,
                                       err_msg=f"{name}: param {k} after step {step + 1}")
    # the trajectory actually moved
    assert not np.allclose(ours[0].data, initial_arrays()[0])


def test_lr_change_midway_matches_torch():
    ours = [nn.Parameter(a) for a in initial_arrays()]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial_arrays()]
    opt, topt = optim.SGD(ours, lr=0.1, momentum=0.9), torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    for step in range(10):
        if step == 5:
            opt.lr = 0.01
            topt.param_groups[0]["lr"] = 0.01
        for k, (p, t) in enumerate(zip(ours, theirs)):
            p.grad = quadratic_grad(p.data, k)
            t.grad = torch.from_numpy(quadratic_grad(t.detach().numpy(), k))
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-10)


def mlp_loss_ours(params, x, y):
    W1, b1, W2, b2 = params
    h = F.tanh(F.linear(x, W1, b1))
    out = F.linear(h, W2, b2)
    return F.mean_squared_error(out, y)


def mlp_loss_torch(params, x, y):
    W1, b1, W2, b2 = params
    h = torch.tanh(x @ W1 + b1)
    return ((h @ W2 + b2 - y) ** 2).mean()


@pytest.mark.parametrize("name", ["sgd_nesterov", "adagrad", "rmsprop", "adam_weight_decay"])
def test_parity_with_torch_on_an_mlp(name):
    ours_factory, torch_factory = CONFIGS[name]
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((5, 8)) * 0.5, np.zeros(8), rng.standard_normal((8, 2)) * 0.5, np.zeros(2)]
    x, y = rng.standard_normal((16, 5)), rng.standard_normal((16, 2))
    ours = [nn.Parameter(a.copy()) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt, topt = ours_factory(ours), torch_factory(theirs)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(20):
        opt.zero_grad()
        mlp_loss_ours(ours, x, y).backward()
        opt.step()
        topt.zero_grad()
        mlp_loss_torch(theirs, xt, yt).backward()
        topt.step()
    for k, (p, t) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-10, err_msg=f"param {k}")


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_params_without_grad_are_skipped(name):
    ours_factory, torch_factory = CONFIGS[name]
    ours = [nn.Parameter(a) for a in initial_arrays()]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial_arrays()]
    opt, topt = ours_factory(ours), torch_factory(theirs)
    for step in range(6):
        # parameter 1 only gets a gradient on even steps; Adam's bias correction counts its own steps
        for k, (p, t) in enumerate(zip(ours, theirs)):
            if k == 1 and step % 2:
                p.grad, t.grad = None, None
            else:
                p.grad = quadratic_grad(p.data, k)
                t.grad = torch.from_numpy(quadratic_grad(t.detach().numpy(), k))
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-10)
    assert opt.state[1]["step"] == 3 and opt.state[0]["step"] == 6


def test_never_updated_param_is_unchanged_and_has_no_state():
    p, q = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))
    opt = optim.Adam([p, q], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(q.data, np.ones(2))
    assert opt.state[1] == {}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float32_params_keep_dtype(name):
    ours_factory, _ = CONFIGS[name]
    ps = [nn.Parameter(a) for a in initial_arrays(dtype=np.float32)]
    opt = ours_factory(ps)
    for _ in range(2):
        for k, p in enumerate(ps):
            p.grad = quadratic_grad(p.data, k).astype(np.float32)
        opt.step()
    for p in ps:
        assert p.data.dtype == np.float32
    for st in opt.state:
        for key, v in st.items():
            if key != "step":
                assert v.dtype == np.float32


def test_update_is_in_place_and_grad_untouched():
    p = nn.Parameter(np.array([1.0, -2.0]))
    data = p.data
    g = np.array([0.5, 0.25])
    p.grad = g.copy()
    optim.SGD([p], lr=0.1, momentum=0.5, weight_decay=0.1).step()
    assert p.data is data  # same array, updated in place
    np.testing.assert_array_equal(p.grad, g)  # weight decay did not write into grad
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (0.5 + 0.1), -2.0 - 0.1 * (0.25 - 0.2)], rtol=1e-15)


def test_zero_grad_sets_none():
    p = nn.Parameter(np.ones(2))
    p.grad = np.ones(2)
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad()
    assert p.grad is None


def run_steps(opt, params, steps, start):
    for step in range(start, start + steps):
        for k, p in enumerate(params):
            p.grad = quadratic_grad(p.data, k + step)
        opt.step()


def json_roundtrip(state):
    # what a checkpoint does: scalars through JSON, arrays through npz-like copies
    scalars = json.loads(json.dumps({k: v for k, v in state.items() if not isinstance(v, np.ndarray)}))
    return {**scalars, **{k: v.copy() for k, v in state.items() if isinstance(v, np.ndarray)}}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_resume_is_bit_identical(name):
    factory, _ = CONFIGS[name]
    params = [nn.Parameter(a) for a in initial_arrays()]
    opt = factory(params)
    run_steps(opt, params, 5, 0)
    saved_params = [p.data.copy() for p in params]
    saved = json_roundtrip(opt.state_dict())
    run_steps(opt, params, 5, 5)
    resumed = [nn.Parameter(a.copy()) for a in saved_params]
    opt2 = factory(resumed)
    opt2.load_state_dict(saved)
    run_steps(opt2, resumed, 5, 5)
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_copy_and_load_does_not_alias():
    p = nn.Parameter(np.ones(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    state = opt.state_dict()
    assert set(state) == {"optimizer", "num_params", "lr", "beta1", "beta2", "eps", "weight_decay",
                          "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"}
    state["state.0.exp_avg"][:] = 123.0  # does not reach the optimizer
    assert opt.state[0]["exp_avg"][0] != 123.0
    opt2 = optim.Adam([p], lr=0.5)
    opt2.load_state_dict(opt.state_dict())
    loaded = opt.state_dict()
    opt2.load_state_dict(loaded)
    loaded["state.0.exp_avg"][:] = 7.0
    assert opt2.state[0]["exp_avg"][0] != 7.0
    assert opt2.lr == 0.1  # hyperparameters come back too


def test_load_casts_state_to_param_dtype():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    opt = optim.RMSprop([p])
    state = {"optimizer": "RMSprop", "num_params": 1, "lr": 0.01, "alpha": 0.9, "eps": 1e-8,
             "state.0.step": 2, "state.0.square_avg": np.full(3, 0.5)}
    opt.load_state_dict(state)
    assert opt.state[0]["square_avg"].dtype == np.float32 and opt.alpha == 0.9


def test_load_state_dict_rejects_bad_states():
    p = nn.Parameter(np.ones((2, 3)))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones((2, 3))
    opt.step()
    good = opt.state_dict()
    with pytest.raises(ConfigError, match="state is for optimizer 'SGD', not 'Adam'"):
        optim.Adam([p]).load_state_dict(good)
    with pytest.raises(ConfigError, match="state has 1 parameters, this optimizer 2"):
        optim.SGD([p, nn.Parameter(np.ones(1))], lr=0.1).load_state_dict(good)
    bad = {**good, "state.0.velocity": np.ones((3, 2))}
    with pytest.raises(ShapeError, match=r"state.0.velocity \(expected \(2, 3\), got \(3, 2\)\)"):
        opt.load_state_dict(bad)
    bad = {k: v for k, v in good.items() if k != "momentum"}
    bad["state.0.nonsense"] = np.ones((2, 3))
    with pytest.raises(ConfigError, match=r"missing keys \['momentum'\]; unknown keys \['state.0.nonsense'\]"):
        opt.load_state_dict(bad)
    with pytest.raises(ConfigError, match=r"SGD: momentum must be a number in \[0, 1\), got 1.5"):
        opt.load_state_dict({**good, "momentum": 1.5, "lr": 0.7})
    assert opt.lr == 0.1 and opt.momentum == 0.9  # a rejected state changes nothing
    with pytest.raises(ConfigError, match="state must be a mapping"):
        opt.load_state_dict([1, 2])


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), r"SGD: lr must be a number in \[0, inf\), got -0.1"),
    (lambda p: optim.SGD(p, lr=float("nan")), "SGD: lr must be a number in"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=1.0), r"SGD: momentum must be a number in \[0, 1\), got 1.0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: momentum must be a number in"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "SGD: nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=1), "SGD: nesterov must be True or False"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-4), "SGD: weight_decay must be a number in"),
    (lambda p: optim.AdaGrad(p, lr=-1.0), "AdaGrad: lr must be a number in"),
    (lambda p: optim.AdaGrad(p, eps=-1e-10), "AdaGrad: eps must be a number in"),
    (lambda p: optim.RMSprop(p, alpha=1.0), r"RMSprop: alpha must be a number in \[0, 1\)"),
    (lambda p: optim.RMSprop(p, eps="1e-8"), "RMSprop: eps must be a number in"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"Adam: betas\[1\] must be a number in \[0, 1\), got 1.0"),
    (lambda p: optim.Adam(p, betas=(-0.1, 0.999)), r"Adam: betas\[0\] must be a number in"),
    (lambda p: optim.Adam(p, betas=0.9), r"Adam: betas must be a pair"),
    (lambda p: optim.Adam(p, eps=-1.0), "Adam: eps must be a number in"),
    (lambda p: optim.Adam(p, weight_decay=-1.0), "Adam: weight_decay must be a number in"),
])
def test_bad_hyperparameters_name_the_argument(make, message):
    with pytest.raises(ConfigError, match=message):
        make([nn.Parameter(np.ones(2))])


def test_bad_params():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ConfigError, match="SGD: params is empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ConfigError, match=r"Adam: params\[1\] must be a Parameter"):
        optim.Adam([p, gn.Tensor(np.ones(2))])
    with pytest.raises(ConfigError, match=r"RMSprop: params\[1\] appears twice"):
        optim.RMSprop([p, p])
    with pytest.raises(ConfigError, match="AdaGrad: params must be an iterable"):
        optim.AdaGrad(3)
    opt = optim.SGD(p, lr=0.1)  # one Parameter is accepted
    with pytest.raises(ConfigError, match="SGD: lr must be a number in"):
        opt.lr = -1.0
    assert opt.params == [p] and opt.lr == 0.1


def test_model_parameters_generator_is_accepted():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Linear(2, 1, rng=1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert len(opt.params) == 4
    assert "SGD(4 params, lr=0.1, momentum=0.0" in repr(opt)


def test_load_state_dict_rejects_a_stepped_parameter_without_its_slots():
    from glassnet.optim import SGD, Adam

    p = nn.Parameter(np.ones(3))
    opt = Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    state = opt.state_dict()
    del state["state.0.exp_avg"]
    with pytest.raises(ConfigError, match="state.0.exp_avg"):
        Adam([p], lr=0.1).load_state_dict(state)
    # plain SGD has no velocity slot to require
    sgd = SGD([p], lr=0.1)
    sgd.step()
    SGD([p], lr=0.1).load_state_dict(sgd.state_dict())
