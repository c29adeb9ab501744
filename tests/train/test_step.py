"""train_step: the one training step checks before it updates, clips, and names the step."""

import numpy as np
import pytest

import glassnet.functional as F
from glassnet import nn
from glassnet.errors import ConfigError, NonFiniteError
from glassnet.optim import SGD
from glassnet.train.step import check_finite, train_step


def _setup(seed=0):
    model = nn.Linear(3, 2, rng=seed).to(np.float64)
    opt = SGD(list(model.parameters()), lr=0.1)
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    return model, opt, x, y


def test_step_equals_the_loop_written_out():
    model, opt, x, y = _setup()
    ref, ref_opt, _, _ = _setup()
    out = train_step(opt, lambda: (F.mean_squared_error(model(x), y), "aux"), model=model)
    loss = F.mean_squared_error(ref(x), y)
    ref_opt.zero_grad()
    loss.backward()
    ref_opt.step()
    assert out.loss == loss.item() and out.outputs == "aux" and out.grad_norm is None
    for (n, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_step_clips_to_max_norm_and_reports_the_norm_before():
    model, opt, x, y = _setup()
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    out = train_step(opt, lambda: 1e3 * F.mean_squared_error(model(x), y), max_norm=0.5)
    update = np.sqrt(sum(np.sum((p.data - before[n]) ** 2) for n, p in model.named_parameters()))
    assert out.grad_norm > 0.5
    np.testing.assert_allclose(update, 0.1 * 0.5, rtol=1e-5)  # lr * clipped norm


def test_a_non_finite_loss_stops_before_any_update():
    model, opt, x, y = _setup()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(NonFiniteError, match=r"^step 7: loss is nan"):
        train_step(opt, lambda: F.mean_squared_error(model(x), y) * np.nan, where=7)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


def test_a_non_finite_gradient_is_named_and_stops_before_the_update():
    model, opt, x, y = _setup()
    before = [p.data.copy() for p in model.parameters()]
    # a finite loss (0) whose gradient is not: d sqrt(u)/du = 1/(2 sqrt(u)) = inf at u = W * 0
    loss_fn = lambda: F.sum((model.W * 0.0) ** 0.5)
    with np.errstate(all="ignore"), pytest.raises(
            NonFiniteError, match=r"^epoch 2, step 3: gradient of 'W' is not finite"):
        train_step(opt, loss_fn, where="epoch 2, step 3", model=model)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


def test_bad_arguments():
    model, opt, x, y = _setup()
    with pytest.raises(ConfigError, match="train_step: the loss must be a scalar Tensor"):
        train_step(opt, lambda: model(x))
    with pytest.raises(ConfigError, match="train_step: max_norm must be a number in \\(0, inf\\)"):
        train_step(opt, lambda: F.mean_squared_error(model(x), y), max_norm=0)
    assert check_finite(1.5, "step 1") == 1.5
    with pytest.raises(NonFiniteError, match="step 2: gradient norm is inf"):
        check_finite(float("inf"), "step 2", "gradient norm")
