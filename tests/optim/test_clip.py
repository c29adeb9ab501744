"""Gradient clipping: parity with torch.nn.utils, the returned norm, non-finite gradients, bad input."""

import numpy as np
import pytest

from glassnet import nn, optim
from glassnet.errors import ConfigError, NonFiniteError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def make(scale, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    grads = [(scale * rng.standard_normal(s)).astype(dtype) for s in SHAPES]
    ours = [nn.Parameter(np.zeros(s, dtype=dtype)) for s in SHAPES]
    theirs = [torch.zeros(s, dtype=torch.float64 if dtype == np.float64 else torch.float32, requires_grad=True)
              for s in SHAPES]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0), (1.0, 0.5), (3.0, 100.0)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_clip_grad_norm_matches_torch(scale, max_norm, dtype, tol):
    ours, theirs = make(scale, dtype=dtype)
    norm = optim.clip_grad_norm_(ours, max_norm)
    tnorm = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert isinstance(norm, float)
    assert norm == pytest.approx(float(tnorm), rel=tol)
    for p, t in zip(ours, theirs):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=tol, atol=0)


def test_clip_grad_norm_result():
    ours, _ = make(10.0)
    before = np.sqrt(sum((p.grad**2).sum() for p in ours))
    norm = optim.clip_grad_norm_(ours, 2.0)
    assert norm == pytest.approx(before, rel=1e-14)
    after = np.sqrt(sum((p.grad**2).sum() for p in ours))
    assert after == pytest.approx(2.0, rel=1e-6)  # 2 / (norm + 1e-6) * norm


def test_small_gradients_are_untouched():
    ours, _ = make(0.01)
    copies = [p.grad.copy() for p in ours]
    optim.clip_grad_norm_(ours, 1.0)
    for p, c in zip(ours, copies):
        np.testing.assert_array_equal(p.grad, c)


def test_params_without_grad_are_ignored():
    p, q = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    p.grad = np.array([3.0, 4.0])
    assert optim.clip_grad_norm_([p, q], 1.0) == 5.0
    assert q.grad is None
    assert optim.clip_grad_norm_([q], 1.0) == 0.0
    assert optim.clip_grad_norm_(p, 10.0) == pytest.approx(1.0, rel=1e-5)  # one Parameter, already clipped


def test_float32_norm_does_not_overflow():
    p = nn.Parameter(np.zeros(4, dtype=np.float32))
    p.grad = np.full(4, 1e20, dtype=np.float32)  # squares overflow float32
    norm = optim.clip_grad_norm_([p], 1.0)
    assert norm == pytest.approx(2e20, rel=1e-6)
    np.testing.assert_allclose(p.grad, 0.5, rtol=1e-5)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_gradient_raises_and_leaves_grads(bad):
    ours, _ = make(1.0)
    ours[1].grad[2] = bad
    copies = [p.grad.copy() for p in ours]
    with pytest.raises(NonFiniteError, match="clip_grad_norm_: the total gradient norm is (inf|nan)"):
        optim.clip_grad_norm_(ours, 1.0)
    for p, c in zip(ours, copies):
        np.testing.assert_array_equal(p.grad, c)


@pytest.mark.parametrize("clip_value", [0.1, 0.7, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = make(1.0, seed=4)
    assert optim.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert np.abs(p.grad).max() <= clip_value


@pytest.mark.parametrize("fn, arg", [(optim.clip_grad_norm_, "max_norm"), (optim.clip_grad_value_, "clip_value")])
def test_bad_input(fn, arg):
    p = nn.Parameter(np.zeros(2))
    p.grad = np.ones(2)
    for bad in (0.0, -1.0):
        with pytest.raises(ConfigError, match=rf"{fn.__name__}: {arg} must be a number in \(0, inf\), got"):
            fn([p], bad)
    with pytest.raises(ConfigError, match=f"{fn.__name__}: {arg} must be a number in \\(0, inf\\)"):
        fn([p], float("inf"))
    with pytest.raises(ConfigError, match=rf"{fn.__name__}: params\[0\] must be a Parameter"):
        fn([np.ones(2)], 1.0)
    with pytest.raises(ConfigError, match=f"{fn.__name__}: params must be an iterable"):
        fn(3, 1.0)
