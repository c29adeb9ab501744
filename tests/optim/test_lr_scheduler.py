"""Learning-rate schedules: values of torch.optim.lr_scheduler over 30 steps, resume, bad input."""

import json

import numpy as np
import pytest

from glassnet import nn, optim
from glassnet.errors import ConfigError

torch = pytest.importorskip("torch")

SCHEDULES = {
    "step": (lambda o: optim.StepLR(o, step_size=7, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    "step_default_gamma": (lambda o: optim.StepLR(o, step_size=3),
                           lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3)),
    "exponential": (lambda o: optim.ExponentialLR(o, gamma=0.9),
                    lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    "cosine": (lambda o: optim.CosineAnnealingLR(o, T_max=10),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
    "cosine_eta_min": (lambda o: optim.CosineAnnealingLR(o, T_max=25, eta_min=0.01),
                       lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=0.01)),
    "warm_restarts": (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=6),
                      lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=6)),
    "warm_restarts_t_mult": (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
                             lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                                           eta_min=0.01)),
}


def make_optimizer(lr=0.1):
    return optim.SGD([nn.Parameter(np.zeros(2))], lr=lr, momentum=0.9)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_matches_torch_over_30_steps(name):
    ours_factory, torch_factory = SCHEDULES[name]
    opt = make_optimizer()
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    sched, tsched = ours_factory(opt), torch_factory(topt)
    ours, theirs = [opt.lr], [topt.param_groups[0]["lr"]]
    for _ in range(30):
        topt.step()
        sched.step()
        tsched.step()
        ours.append(opt.lr)
        theirs.append(topt.param_groups[0]["lr"])
        assert sched.get_last_lr() == opt.lr
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(set(np.round(ours, 12))) > 2  # the rate really changed


def test_cosine_endpoints():
    opt = make_optimizer(0.2)
    sched = optim.CosineAnnealingLR(opt, T_max=4, eta_min=0.02)
    rates = [opt.lr]
    for _ in range(4):
        sched.step()
        rates.append(opt.lr)
    assert rates[0] == 0.2 and rates[-1] == pytest.approx(0.02, abs=1e-15)
    assert rates[2] == pytest.approx(0.11, rel=1e-14)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_resume_gives_the_same_rates(name):
    factory, _ = SCHEDULES[name]
    opt = make_optimizer()
    sched = factory(opt)
    for _ in range(11):
        sched.step()
    state = json.loads(json.dumps(sched.state_dict()))  # plain JSON scalars
    rest = []
    for _ in range(10):
        sched.step()
        rest.append(opt.lr)
    opt2 = make_optimizer(lr=0.5)  # a different starting rate: the state carries the base rate
    sched2 = factory(opt2)
    sched2.load_state_dict(state)
    assert opt2.lr == sched.lr_at(11)
    rest2 = []
    for _ in range(10):
        sched2.step()
        rest2.append(opt2.lr)
    assert rest == rest2


def test_load_state_dict_rejects_bad_states():
    sched = optim.StepLR(make_optimizer(), step_size=2)
    state = sched.state_dict()
    assert state == {"scheduler": "StepLR", "base_lr": 0.1, "last_epoch": 0, "step_size": 2, "gamma": 0.1}
    with pytest.raises(ConfigError, match="state is for 'StepLR', not 'ExponentialLR'"):
        optim.ExponentialLR(make_optimizer(), gamma=0.9).load_state_dict(state)
    with pytest.raises(ConfigError, match=r"missing keys \['gamma'\]"):
        sched.load_state_dict({k: v for k, v in state.items() if k != "gamma"})
    with pytest.raises(ConfigError, match="last_epoch must be an int >= 0, got -1"):
        sched.load_state_dict({**state, "last_epoch": -1})
    with pytest.raises(ConfigError, match="StepLR: step_size must be an int >= 1, got 0"):
        sched.load_state_dict({**state, "step_size": 0})


@pytest.mark.parametrize("make, message", [
    (lambda o: optim.StepLR(o, step_size=0), "StepLR: step_size must be an int >= 1, got 0"),
    (lambda o: optim.StepLR(o, step_size=2.5), "StepLR: step_size must be an int >= 1, got 2.5"),
    (lambda o: optim.StepLR(o, step_size=2, gamma=0.0), r"StepLR: gamma must be a number in \(0, inf\)"),
    (lambda o: optim.ExponentialLR(o, gamma=-0.5), "ExponentialLR: gamma must be a number in"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=0), "CosineAnnealingLR: T_max must be an int >= 1"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=5, eta_min=-1e-3), "CosineAnnealingLR: eta_min must be a number in"),
    (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=0), "CosineAnnealingWarmRestarts: T_0 must be an int >= 1"),
    (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
     "CosineAnnealingWarmRestarts: T_mult must be an int >= 1"),
    (lambda o: optim.StepLR("sgd", step_size=2), "StepLR: optimizer must be a glassnet Optimizer, got str"),
])
def test_bad_input(make, message):
    with pytest.raises(ConfigError, match=message):
        make(make_optimizer())


def test_warm_restarts_restart_at_each_cycle_start():
    opt = make_optimizer(lr=0.2)
    sched = optim.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    assert [sched.cycle(e)[:2] for e in range(8)] == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1)]
    assert sched.lr_at(2) == sched.lr_at(6) == 0.2 and sched.lr_at(1) == pytest.approx(0.1, abs=1e-15)
